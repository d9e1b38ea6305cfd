//! Independent implementations the cross-checks run: `openssl`, `xmlsec1` and `xmllint` with
//! the official EBICS schemas.
//!
//! A test whose tool is missing prints `SKIP` and passes, unless the tool's `KONTOR_REQUIRE_*`
//! variable is `1` (CI sets them), in which case it fails: a cross-check must never pass
//! without having checked anything.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// An external program and the variable that makes its absence a failure.
pub struct Program {
    name: &'static str,
    version_arg: &'static str,
    require_var: &'static str,
    install: &'static str,
}

pub const OPENSSL: Program = Program {
    name: "openssl",
    version_arg: "version",
    require_var: "KONTOR_REQUIRE_OPENSSL",
    install: "apt-get install -y openssl",
};

pub const XMLSEC1: Program = Program {
    name: "xmlsec1",
    version_arg: "--version",
    require_var: "KONTOR_REQUIRE_XMLSEC",
    install: "apt-get install -y xmlsec1",
};

const XMLLINT: Program = Program {
    name: "xmllint",
    version_arg: "--version",
    require_var: "KONTOR_REQUIRE_XSD",
    install: "apt-get install -y libxml2-utils",
};

/// Prints why a cross-check is skipped, or fails when `require_var=1`.
fn skip(require_var: &str, why: &str) {
    assert!(
        std::env::var(require_var).as_deref() != Ok("1"),
        "{require_var}=1 but {why}"
    );
    println!("SKIP: {why}");
}

/// An installed program with a scratch directory for the files it reads.
pub struct Tool {
    name: &'static str,
    scratch: tempfile::TempDir,
}

impl Tool {
    /// The program, or `None` (after printing SKIP) when it is not installed and not required.
    pub fn find(program: Program) -> Option<Self> {
        let installed = Command::new(program.name)
            .arg(program.version_arg)
            .output()
            .is_ok_and(|o| o.status.success());
        if !installed {
            skip(
                program.require_var,
                &format!("{} not installed ({})", program.name, program.install),
            );
            return None;
        }
        Some(Self {
            name: program.name,
            scratch: tempfile::tempdir().expect("temp dir"),
        })
    }

    /// Writes `contents` to a scratch file and returns its path.
    pub fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.scratch.path().join(name);
        std::fs::write(&path, contents).expect("write scratch file");
        path.into_os_string()
            .into_string()
            .expect("utf-8 scratch path")
    }

    /// Runs the program, successful or not.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(self.name)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {} {args:?}: {e}", self.name))
    }

    /// Runs the program, which must succeed; its standard output.
    pub fn stdout_bytes(&self, args: &[&str]) -> Vec<u8> {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{} {args:?} failed: {}",
            self.name,
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// Runs the program, which must succeed; its standard output as text.
    pub fn stdout(&self, args: &[&str]) -> String {
        String::from_utf8(self.stdout_bytes(args)).expect("utf-8 output")
    }
}

/// A named XML document to validate.
pub type Document = (String, Vec<u8>);

/// `xmllint` with the official EBICS schemas, which live beside the checkout
/// (`../shared/ebics-schemas` or `$KONTOR_EBICS_SCHEMAS`) and are never copied into the
/// repository. Required under `KONTOR_REQUIRE_XSD=1`.
pub struct Xsd {
    xmllint: Tool,
    schemas: PathBuf,
}

impl Xsd {
    /// The validator, or `None` (after printing SKIP) when `schemas` (paths relative to the
    /// schema directory) or xmllint are missing and validation is not required.
    pub fn find(schemas: &[&str]) -> Option<Self> {
        let dir = std::env::var_os("KONTOR_EBICS_SCHEMAS")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ebics-schemas")
            });
        if let Some(missing) = schemas.iter().find(|s| !dir.join(s).is_file()) {
            skip(
                XMLLINT.require_var,
                &format!("EBICS schema {missing} not found in {}", dir.display()),
            );
            return None;
        }
        Some(Self {
            xmllint: Tool::find(XMLLINT)?,
            schemas: dir,
        })
    }

    /// Validates every document against `schema` in one xmllint run; one message per document
    /// that does not validate (name, xmllint's diagnostics, the document).
    pub fn failures(&self, schema: &str, documents: &[Document]) -> Vec<String> {
        assert!(
            !documents.is_empty(),
            "nothing to validate against {schema}"
        );
        let files: Vec<String> = documents
            .iter()
            .enumerate()
            .map(|(i, (_, xml))| self.xmllint.file(&format!("{i}.xml"), xml))
            .collect();
        let schema_path = self.schemas.join(schema);
        let mut args = vec![
            "--noout",
            "--nonet",
            "--schema",
            schema_path.to_str().expect("utf-8 schema path"),
        ];
        args.extend(files.iter().map(String::as_str));
        let output = self.xmllint.run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        documents
            .iter()
            .zip(&files)
            .filter_map(|((name, xml), file)| {
                if stderr.lines().any(|l| l == format!("{file} validates")) {
                    return None;
                }
                let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with(file)).collect();
                Some(format!(
                    "{name} is not valid against {schema}:\n  {}\n{}",
                    errors.join("\n  "),
                    String::from_utf8_lossy(xml)
                ))
            })
            .collect()
    }
}
