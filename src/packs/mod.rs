//! Protocol packs: what connkit knows of particular wire protocols, kept apart from
//! the generic framing in `codec`. A pack plugs into a codec through its traits: a
//! [`Scan`](crate::codec::Scan) finds where messages end by walking their structure
//! (Thrift's buffered transport), a [`Transcode`](crate::codec::Transcode) rewrites
//! each frame (mdsf into JSON). The core runs them; only the Node-API layer maps a
//! framing name to its pack.

pub mod mdsf;
pub mod thrift;
