//! The lake: the `logs` table and where it lives. A row ([`record`]), its schema and the DDL
//! derived from it ([`schema`]), reading files of other writers as its rows ([`conform`]), every
//! prefix and key ([`layout`]), Parquet encoding ([`encode`]), the bucket or directory that holds the objects ([`storage`]),
//! the other buckets whose log objects ingest-s3 reads ([`source`]), and the typed tables of AWS
//! service logs ([`typed`]).
//!
//! Every other stage builds on this one; it uses none of them.

pub mod conform;
pub mod encode;
pub mod layout;
pub mod record;
pub mod schema;
pub mod source;
pub mod storage;
pub mod typed;
