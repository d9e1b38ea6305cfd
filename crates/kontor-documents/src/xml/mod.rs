//! Small XML helpers shared by the ISO 20022 modules: a streaming writer for generation and a
//! namespace-aware cursor over a `roxmltree` document for parsing.

pub(crate) mod fragment;
pub(crate) mod reader;
pub(crate) mod writer;
