//! PSKC import (being written).
