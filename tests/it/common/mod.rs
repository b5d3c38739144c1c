//! What the tests that run the binary on the bundled samples share.

pub mod dav;
pub mod pg;
pub mod two_vdirs;
pub mod unfold;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// A temp dir holding a copy of the samples: `abgleich.toml`, `crm.sqlite`
/// and the `outlook/` card folder.
pub fn copy_samples() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["crm.sqlite", "abgleich.toml"] {
        std::fs::copy(samples().join(file), dir.path().join(file)).unwrap();
    }
    let outlook = dir.path().join("outlook");
    std::fs::create_dir(&outlook).unwrap();
    for entry in std::fs::read_dir(samples().join("outlook")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), outlook.join(entry.file_name())).unwrap();
    }
    dir
}

/// What a run of the binary printed, and its exit code.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(out: std::process::Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Run `cmd` to its end.
pub fn run(cmd: &mut std::process::Command) -> Run {
    Run::of(cmd.output().expect("the abgleich binary runs"))
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Select the operation of `kind` for the contact `name` in the screen's
/// queue; returns its index in the plan.
pub fn select_op(
    app: &mut abgleich::tui::App,
    kind: abgleich::sync::plan::OpKind,
    name: &str,
) -> usize {
    use abgleich::tui::action::{Action, View};
    app.update(Action::Show(View::Queue));
    app.update(Action::Top);
    let data = app.data.clone().unwrap();
    let target = app
        .queue
        .visible
        .iter()
        .position(|&o| {
            let op = &data.plan.operations[o as usize];
            op.kind == kind && op.name == name
        })
        .unwrap_or_else(|| panic!("no {kind:?} for {name} in the queue"));
    for _ in 0..target {
        app.update(Action::Down);
    }
    app.queue.selected_op().unwrap()
}

/// A CA (`ca.pem`) and a certificate for 127.0.0.1 and localhost it
/// signed (`server.pem`, `server.key`) in `dir`, made by `openssl`, for
/// the servers the tests start with TLS; `false` when they cannot be made.
pub fn make_certificates(dir: &Path) -> bool {
    let ext = dir.join("san.ext");
    if std::fs::write(&ext, "subjectAltName=IP:127.0.0.1, DNS:localhost\n").is_err() {
        return false;
    }
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=abgleich test CA",
        ],
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    ];
    steps.iter().all(|args| {
        Command::new("openssl")
            .args(*args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}
