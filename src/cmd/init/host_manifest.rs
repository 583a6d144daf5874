//! `quotaline init native-host`: registers `quotaline native-host` with the browser, so the extension in
//! `integrations/browser-extension/` can hand it the usage it read: a host manifest naming
//! this binary and the one extension allowed to start it, in the browser's per-user
//! `NativeMessagingHosts` folder.

use super::super::{show, warn};
use crate::cache::write_atomic;
use crate::render::sanitize::Lines;
use crate::source::extension::{EXTENSION_ID, GECKO_ID, HOST_NAME};
use serde_json::json;
use std::path::{Path, PathBuf};

/// A browser and where its per-user profile data lives.
struct Browser {
    name: &'static str,
    /// Under `$XDG_CONFIG_HOME` (Chromium family) or `$HOME` (Firefox) on Linux.
    linux: &'static str,
    /// Under `~/Library/Application Support` on macOS.
    macos: &'static str,
    firefox: bool,
}

const BROWSERS: &[Browser] = &[
    Browser {
        name: "chrome",
        linux: "google-chrome",
        macos: "Google/Chrome",
        firefox: false,
    },
    Browser {
        name: "chromium",
        linux: "chromium",
        macos: "Chromium",
        firefox: false,
    },
    Browser {
        name: "brave",
        linux: "BraveSoftware/Brave-Browser",
        macos: "BraveSoftware/Brave-Browser",
        firefox: false,
    },
    Browser {
        name: "edge",
        linux: "microsoft-edge",
        macos: "Microsoft Edge",
        firefox: false,
    },
    Browser {
        name: "vivaldi",
        linux: "vivaldi",
        macos: "Vivaldi",
        firefox: false,
    },
    Browser {
        name: "firefox",
        linux: ".mozilla",
        macos: "Mozilla",
        firefox: true,
    },
];

impl Browser {
    /// The browser's per-user data folder (its presence means "installed and used").
    fn data_dir(&self, home: &Path) -> PathBuf {
        if cfg!(target_os = "macos") {
            home.join("Library/Application Support").join(self.macos)
        } else if self.firefox {
            home.join(self.linux)
        } else {
            crate::settings::xdg_config_home()
                .unwrap_or_else(|| home.join(".config"))
                .join(self.linux)
        }
    }

    fn hosts_dir(&self, home: &Path) -> PathBuf {
        let folder = if self.firefox && !cfg!(target_os = "macos") {
            "native-messaging-hosts"
        } else {
            "NativeMessagingHosts"
        };
        self.data_dir(home).join(folder)
    }

    /// Chromium browsers name the extension by origin, Firefox by its add-on id.
    fn manifest(&self, exe: &Path) -> serde_json::Value {
        let mut m = json!({
            "name": HOST_NAME,
            "description": "quotaline: stores the claude.ai usage the quotaline extension read",
            "path": exe,
            "type": "stdio",
        });
        if self.firefox {
            m["allowed_extensions"] = json!([GECKO_ID]);
        } else {
            m["allowed_origins"] = json!([format!("chrome-extension://{EXTENSION_ID}/")]);
        }
        m
    }
}

pub fn browsers() -> Vec<&'static str> {
    BROWSERS.iter().map(|b| b.name).collect()
}

/// `quotaline init native-host [--browser NAME]`: writes the host manifest for the named
/// browser, or for every supported browser whose profile folder exists.
pub fn install(browser: Option<&str>) -> i32 {
    let Some(home) = crate::settings::home() else {
        warn("HOME is not set: cannot find the browser's folders");
        return 1;
    };
    let chosen: Vec<&Browser> = match browser {
        Some(name) => match BROWSERS.iter().find(|b| b.name == name) {
            Some(b) => vec![b],
            None => {
                warn(&format!(
                    "unknown browser {name:?}; expected one of {}",
                    browsers().join(", ")
                ));
                return 2;
            }
        },
        None => BROWSERS
            .iter()
            .filter(|b| b.data_dir(&home).is_dir())
            .collect(),
    };
    if chosen.is_empty() {
        warn(&format!(
            "no browser profile found; name one with --browser ({})",
            browsers().join(", ")
        ));
        return 2;
    }
    // The browser runs this exact file: an absolute path, symlinks resolved.
    let exe = match std::env::current_exe().and_then(|p| p.canonicalize()) {
        Ok(p) => p,
        Err(e) => {
            warn(&format!("cannot tell where this binary is: {e}"));
            return 1;
        }
    };
    let mut code = 0;
    let mut said = Lines::new();
    for b in chosen {
        let dir = b.hosts_dir(&home);
        let path = dir.join(format!("{HOST_NAME}.json"));
        let text = format!("{:#}\n", b.manifest(&exe));
        let written = std::fs::create_dir_all(&dir)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", dir.display())))
            .and_then(|()| write_atomic(&path, text.as_bytes()))
            .and_then(|()| {
                // Readable by the browser like any manifest; it holds no secret.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
            });
        match written {
            Ok(()) => {
                let caller = if b.firefox {
                    GECKO_ID.to_string()
                } else {
                    format!("chrome-extension://{EXTENSION_ID}/")
                };
                said.line(format!("{}: wrote {}", b.name, path.display()));
                said.line(format!(
                    "  lets {caller} start {} native-host",
                    exe.display()
                ));
            }
            Err(e) => {
                warn(&format!("{}: cannot write the host manifest: {e}", b.name));
                code = 1;
            }
        }
    }
    if code == 0 {
        let folder = match extension_dir(&exe) {
            Some(dir) => dir.display().to_string(),
            None => format!(
                "the browser-extension folder (integrations/browser-extension in quotaline's \
                 source; {PACKAGED_EXTENSION} from the Debian package)"
            ),
        };
        said.line(format!(
            "next: load {folder} in the browser (Load unpacked: doc/extension.md); it reports \
             within a minute (`quotaline status`)"
        ));
    }
    show(&said);
    code
}

/// Where the Debian package puts the extension.
const PACKAGED_EXTENSION: &str = "/usr/share/quotaline/integrations/browser-extension";

/// The extension's folder on this machine, for the user to load: beside an installed binary
/// (`<prefix>/bin/quotaline` -> `<prefix>/share/quotaline/...`, so `/usr/share/...` for the
/// package), then the package's place, then the checkout it was built from (`cargo install
/// --path .`), then the current directory's. `None` when none of them holds it.
fn extension_dir(exe: &Path) -> Option<PathBuf> {
    let relative = "integrations/browser-extension";
    let beside = exe
        .parent()
        .and_then(Path::parent)
        .map(|prefix| prefix.join("share/quotaline").join(relative));
    let candidates = [
        beside,
        Some(PathBuf::from(PACKAGED_EXTENSION)),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)),
        std::env::current_dir().ok().map(|d| d.join(relative)),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("manifest.json").is_file())
}
