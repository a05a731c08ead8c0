//! The platform-neutral alert and where deliveries go, under their old path: the model lives in
//! [`crate::domain::alert`], below the store that keeps it.

pub use crate::domain::alert::{
    Alert, AlertChannel, AlertId, AlertKind, AtRisk, DeliveryId, Destination, IncidentId, ReconnectAction, Severity,
};
