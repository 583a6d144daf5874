//! Issue 28: the bars as they are drawn. polybar (under Xvfb) and waybar (under a headless
//! sway) run the snippets `quotaline init` prints, unchanged, against a loopback fake; a
//! screenshot (`import`, `grim`) is read back with tesseract, and its pixels give the colours.
//! The suite checked polybar's bytes before, and polybar drew `47%%` from them: only what the
//! program draws says whether the escaping is right for it.
//! polybar, Xvfb, ImageMagick, tesseract, xdotool, sway, waybar, grim and DejaVu Sans are
//! required (scripts/test installs them): a missing one fails, never skips.

use crate::common::programs::*;
use crate::common::*;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// quotaline's colours (`render::markup`): ok, warn, critical.
const GREEN: [u8; 3] = [0x98, 0xc3, 0x79];
const RED: [u8; 3] = [0xe0, 0x6c, 0x75];
/// The colour a hostile name asks for.
const INJECTED: [u8; 3] = [0xff, 0x00, 0x00];

/// How long a bar may take to show the line on a busy machine.
const DRAW_LIMIT: Duration = Duration::from_secs(60);

/// The numbers of LIMITS_LINE (`5h 23% · 7d 64% · opus 81% · sonnet 9% · ↻42m`).
const NUMBERS: [&str; 4] = ["23%", "64%", "81%", "9%"];

/// A program this test started, leading its own process group (with whatever it runs),
/// stopped on drop, even when the test panics: SIGTERM, SIGKILL after 5 s, reaped.
struct Started {
    child: Child,
    what: &'static str,
}

impl Started {
    /// Starts `cmd` in a new process group; its output goes to `log`.
    fn spawn(mut cmd: Command, what: &'static str, log: &Path) -> Started {
        let out = std::fs::File::create(log).unwrap();
        cmd.stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{what}: {e} (scripts/test installs it)"));
        Started { child, what }
    }

    fn assert_running(&mut self, log: &Path) {
        if let Some(status) = self.child.try_wait().unwrap() {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            panic!("{} exited ({status}):\n{log}", self.what);
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        kill_group(&mut self.child, 15);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        kill_group(&mut self.child, 9);
        let _ = self.child.wait();
    }
}

/// Xvfb `width`x`height` (`common::programs::start_xvfb`), stopped on drop.
fn xvfb(env: &TestEnv, width: u32, height: u32) -> (Started, String) {
    let (child, display) = start_xvfb(env, &format!("{width}x{height}x24"));
    (
        Started {
            child,
            what: "Xvfb",
        },
        display,
    )
}

/// A screenshot: its pixels, row by row, 3 bytes each.
struct Shot {
    png: PathBuf,
    width: usize,
    rgb: Vec<u8>,
}

/// A word tesseract read and its box, in screenshot pixels.
#[derive(Debug)]
struct Word {
    text: String,
    left: usize,
    top: usize,
    width: usize,
    height: usize,
}

/// How much the screenshot is enlarged for tesseract, which reads small type badly.
const OCR_SCALE: usize = 3;

impl Shot {
    /// Reads `png` (ImageMagick gives the size and the raw pixels).
    fn load(png: PathBuf) -> Shot {
        let size = tool("identify", &["-format", "%w %h", png.to_str().unwrap()]);
        let size = String::from_utf8(size).unwrap();
        let (w, h) = size.split_once(' ').unwrap();
        let (width, height): (usize, usize) = (w.parse().unwrap(), h.parse().unwrap());
        let rgb = tool("convert", &[png.to_str().unwrap(), "-depth", "8", "rgb:-"]);
        assert_eq!(rgb.len(), width * height * 3, "{}", png.display());
        Shot { png, width, rgb }
    }

    /// How many pixels in `word`'s box are exactly `colour`.
    fn count_in(&self, word: &Word, colour: [u8; 3]) -> usize {
        (word.top..word.top + word.height)
            .flat_map(|y| (word.left..word.left + word.width).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let i = (y * self.width + x) * 3;
                self.rgb.get(i..i + 3) == Some(&colour[..])
            })
            .count()
    }

    /// How many pixels of the whole screenshot are exactly `colour`.
    fn count(&self, colour: [u8; 3]) -> usize {
        self.rgb.chunks(3).filter(|p| *p == colour).count()
    }

    /// The words tesseract reads in the screenshot, as one line of text (light type on a
    /// dark bar: made grey, inverted and enlarged first).
    fn words(&self) -> Vec<Word> {
        let ocr = self.png.with_extension("ocr.png");
        let scale = format!("{}%", OCR_SCALE * 100);
        tool(
            "convert",
            &[
                self.png.to_str().unwrap(),
                "-colorspace",
                "Gray",
                "-negate",
                "-resize",
                &scale,
                ocr.to_str().unwrap(),
            ],
        );
        let tsv = tool(
            "tesseract",
            &[ocr.to_str().unwrap(), "stdout", "--psm", "7", "tsv"],
        );
        // level page block par line word left top width height conf text; level 5: a word.
        String::from_utf8_lossy(&tsv)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f.len() == 12 && f[0] == "5" && !f[11].trim().is_empty()).then(|| {
                    let n = |i: usize| f[i].parse::<usize>().unwrap() / OCR_SCALE;
                    Word {
                        text: f[11].trim().to_string(),
                        left: n(6),
                        top: n(7),
                        width: n(8),
                        height: n(9),
                    }
                })
            })
            .collect()
    }
}

fn text_of(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a tool that must succeed; its stdout.
fn tool(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/test installs it)"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Takes screenshots with `take` until tesseract reads words that satisfy `drawn`.
fn wait_for_words(
    what: &str,
    mut take: impl FnMut() -> Shot,
    mut alive: impl FnMut(),
    drawn: impl Fn(&[Word]) -> bool,
) -> (Shot, Vec<Word>) {
    let deadline = Instant::now() + DRAW_LIMIT;
    loop {
        alive();
        let shot = take();
        let words = shot.words();
        if drawn(&words) {
            return (shot, words);
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last read: {:?}",
            text_of(&words)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The words that read `text`, but for punctuation after it: tesseract reads a `·` right
/// after a word as `:` or `-` and may join it to the word (`23%:`).
fn find<'a>(words: &'a [Word], text: &str) -> Vec<&'a Word> {
    let bare = |w: &str| {
        w.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '%')
            .to_string()
    };
    words.iter().filter(|w| bare(&w.text) == text).collect()
}

/// Each of LIMITS_LINE's numbers is read once, with one `%` each and none doubled.
fn assert_numbers_once(words: &[Word]) {
    let line = text_of(words);
    for n in NUMBERS {
        assert_eq!(find(words, n).len(), 1, "{n} once in {line:?}");
    }
    assert!(!line.contains("%%"), "{line:?}");
    assert_eq!(line.matches('%').count(), NUMBERS.len(), "{line:?}");
}

/// A polybar bar at the top of the screen, white on black in DejaVu Sans, showing the module
/// as `init polybar` prints it (and `extra` modules after it, on the right).
fn polybar_config(env: &TestEnv, size: u32, right: &str, extra: &str) -> PathBuf {
    let snippet = std::fs::read_to_string(snippet(env, "polybar")).unwrap();
    let config = format!(
        "[bar/test]\nwidth = 100%\nheight = 48\nbackground = #000000\nforeground = #ffffff\n\
         font-0 = DejaVu Sans:pixelsize={size};4\nmodules-left = quotaline\n\
         modules-right = {right}\n\n{snippet}\n{extra}"
    );
    let path = env.home.path().join("polybar.ini");
    std::fs::write(&path, config).unwrap();
    path
}

/// polybar on `display` with `config`, in HOME (where click actions run).
fn polybar(env: &TestEnv, display: &str, config: &Path) -> (Started, PathBuf) {
    let log = env.home.path().join("polybar.log");
    let mut cmd = env.command("polybar");
    cmd.arg("-c")
        .arg(config)
        .arg("test")
        .env("DISPLAY", display)
        .current_dir(env.home.path());
    (Started::spawn(cmd, "polybar", &log), log)
}

fn x_screenshot(env: &TestEnv, display: &str) -> Shot {
    let png = env.home.path().join("x.png");
    let mut cmd = env.command("import");
    cmd.args(["-window", "root"])
        .arg(&png)
        .env("DISPLAY", display);
    let (code, _, err) = output(cmd);
    assert_eq!(code, 0, "import: {err}");
    Shot::load(png)
}

#[test]
fn polybar_draws_each_percent_once_in_the_colour_of_its_window() {
    let (_server, env) = refreshed();
    // opus (81%) over `crit`: the worst window is critical, the others ok.
    env.config("crit = 80\n");
    let (_x, display) = xvfb(&env, 1000, 48);
    let config = polybar_config(&env, 24, "", "");
    let (mut bar, log) = polybar(&env, &display, &config);
    let (shot, words) = wait_for_words(
        "polybar to draw the line",
        || x_screenshot(&env, &display),
        || bar.assert_running(&log),
        |w| w.iter().any(|w| w.text == "sonnet"),
    );
    assert_numbers_once(&words);
    let line = text_of(&words);
    for n in NUMBERS {
        let word = find(&words, n)[0];
        let (red, green) = (shot.count_in(word, RED), shot.count_in(word, GREEN));
        match n {
            "81%" => assert!(red > 20 && green == 0, "{n}: {red} red, {green} green"),
            _ => assert!(green > 20 && red == 0, "{n}: {green} green, {red} red"),
        }
    }
    // The labels keep the bar's own colour.
    let opus = find(&words, "opus");
    assert_eq!(opus.len(), 1, "{line:?}");
    let (white, red) = (
        shot.count_in(opus[0], [0xff; 3]),
        shot.count_in(opus[0], RED),
    );
    assert!(white > 20 && red == 0, "opus: {white} white, {red} red");
}

/// What polybar draws from `bytes` (its text) and the tags it obeys, by the rule of
/// `parser::parse_step` in polybar's `src/tags/parser.cpp`, unchanged from 3.6.0 to 3.7.2
/// and master: `%` followed by `{` opens a tag that ends at `}`, and every other character,
/// `%` included, is text. There is no escape: the `%%` of upstream PR #2748 was never merged.
fn polybar_rule(bytes: &str) -> (String, Vec<String>) {
    let (mut text, mut tags) = (String::new(), Vec::new());
    let mut rest = bytes;
    while let Some(c) = rest.chars().next() {
        if let Some(tag) = rest.strip_prefix("%{") {
            let (tag, after) = tag
                .split_once('}')
                .expect("polybar refuses an unclosed tag");
            tags.push(tag.to_string());
            rest = after;
        } else {
            text.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    (text, tags)
}

#[test]
fn polybar_3_7_reads_the_segment_as_3_6_draws_it() {
    // The old bytes, which the real polybar 3.6.3 drew as `47%%`, read the same by the rule.
    assert_eq!(polybar_rule("47%%%{F-}").0, "47%%");
    let (_server, env) = refreshed();
    let (code, out, _) = ql(&env, &["segment", "--target", "polybar"]);
    assert_eq!(code, 0);
    let (text, tags) = polybar_rule(out.trim_end());
    assert_eq!(text, LIMITS_LINE);
    let own = [
        "F#98c379", "F-", "F#98c379", "F-", "F#e5c07b", "F-", "F#98c379", "F-",
    ];
    assert_eq!(tags, own);

    // Server text draws as sent, but for a zero-width space after each `%` it had before `{`.
    let (_server, env) = refreshed_with_models(&[&format!("model {}", hostile_tags("pwned"))]);
    let (code, out, _) = ql(&env, &["segment", "--target", "polybar"]);
    assert_eq!(code, 0);
    let (text, tags) = polybar_rule(out.trim_end());
    assert_eq!(
        text,
        "model %\u{200b}{f#ff0000}red %\u{200b}{a1:touch pwned:}click%\u{200b}{a} 12% · \
         opus 81% · sonnet 9%"
    );
    assert_eq!(tags, ["F#98c379", "F-", "F#e5c07b", "F-", "F#98c379", "F-"]);
}

/// Markup a polybar user would fear in a name: a colour and a click action that runs a
/// command in polybar's directory (HOME here).
fn hostile_tags(pwned: &str) -> String {
    format!("%{{F#ff0000}}red %{{A1:touch {pwned}:}}click%{{A}}")
}

#[test]
fn polybar_draws_tags_in_server_text_as_text_and_runs_no_click() {
    // A model name, which `{models}` lowercases (`%{f#ff0000}`, `%{a1:…}`), and an org name,
    // which keeps its case: polybar's own `%{F#…}` and `%{A1:…:}`.
    let (server, env) = refreshed_with_models(&[&format!("model {}", hostile_tags("pwned-model"))]);
    let mut account: serde_json::Value = serde_json::from_str(&payload("account.json")).unwrap();
    for m in account["memberships"].as_array_mut().unwrap() {
        m["organization"]["name"] = format!("org {}", hostile_tags("pwned-org")).into();
    }
    server.route("/api/account", Reply::json(200, &account.to_string()));
    env.config("format = \"{org} · {models}\"\n");
    assert_eq!(ql(&env, &["refresh", "--force"]).0, 0);

    let (_x, display) = xvfb(&env, 1800, 48);
    // A genuine click action on the right, to know when polybar has handled the clicks.
    let control = "[module/control]\ntype = custom/script\nexec = echo CONTROL\n\
                   interval = 1\nclick-left = touch control-clicked\n";
    let config = polybar_config(&env, 16, "control", control);
    let (mut bar, log) = polybar(&env, &display, &config);
    let (shot, words) = wait_for_words(
        "polybar to draw the names and the control",
        || x_screenshot(&env, &display),
        || bar.assert_running(&log),
        |w| w.iter().any(|w| w.text == "CONTROL") && w.iter().any(|w| w.text == "sonnet"),
    );
    let line = text_of(&words);
    // Drawn as text, every tag: read back with its braces (the zero-width space between `%`
    // and `{` draws as nothing).
    // (tesseract may read a 0 of `ff0000` as O, and the 1 of `A1` as l.)
    for drawn in [
        "org %{F#ff",
        "touch pwned-org:}click%{A}",
        "model %{f#ff",
        "touch pwned-model:}click%{a}",
    ] {
        assert_eq!(line.matches(drawn).count(), 1, "{drawn} in {line:?}");
    }
    assert_eq!(shot.count(INJECTED), 0, "no text is #ff0000: {line:?}");
    assert!(
        shot.count(GREEN) > 20,
        "quotaline's own colours still apply"
    );

    // Click along the whole line, where any action area would be, then on the control.
    let control = find(&words, "CONTROL")[0];
    let y = (control.top + control.height / 2).to_string();
    let mut args = Vec::new();
    for x in (4..control.left.saturating_sub(20)).step_by(12) {
        args.extend(["mousemove".into(), x.to_string(), y.clone()]);
        args.extend(["click".into(), "--delay".into(), "0".into(), "1".into()]);
    }
    let x = (control.left + control.width / 2).to_string();
    args.extend(["mousemove".into(), x, y, "click".into(), "1".into()]);
    let mut xdotool = env.command("xdotool");
    xdotool.args(&args).env("DISPLAY", &display);
    let (code, _, err) = output(xdotool);
    assert_eq!(code, 0, "xdotool: {err}");
    let home = env.home.path();
    wait_until(DRAW_LIMIT, "the control's click action", || {
        home.join("control-clicked").exists().then_some(())
    });
    for f in ["pwned-model", "pwned-org"] {
        assert!(!home.join(f).exists(), "a click ran {f}");
    }
    bar.assert_running(&log);
}

extern "C" {
    fn geteuid() -> u32;
}

/// sway refuses to run as root. As root, the Wayland programs run as `nobody` (65534, with
/// `setpriv`), and HOME (cache, config, a copy of the binary) is handed to it.
const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // SAFETY: a plain system call without arguments.
    unsafe { geteuid() == 0 }
}

fn chown_tree(path: &Path, id: u32) {
    std::os::unix::fs::lchown(path, Some(id), Some(id)).unwrap();
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), id);
        }
    }
}

/// A headless sway (pixman renderer, no input devices) with a runtime dir of its own.
struct Sway {
    runtime: PathBuf,
    display: String,
    // Last: stopped after the programs that use it.
    _sway: Started,
}

impl Sway {
    /// `env`'s programs as sway's user: HOME handed over and the binary copied into it when
    /// that user is `nobody`, who may not read the build directory (and must never run
    /// another `quotaline` found later on PATH).
    fn start(env: &mut TestEnv, width: u32, height: u32) -> Sway {
        let home = env.home.path().to_path_buf();
        let bin = home.join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::copy(&*BIN, bin.join("quotaline")).unwrap();
        let path = std::env::var("PATH").unwrap_or_default();
        env.set("PATH", &format!("{}:{path}", bin.display()));
        let runtime = home.join("runtime");
        std::fs::create_dir(&runtime).unwrap();
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let config = home.join("sway.conf");
        std::fs::write(
            &config,
            format!("xwayland disable\noutput HEADLESS-1 resolution {width}x{height}\n"),
        )
        .unwrap();
        if is_root() {
            chown_tree(&home, NOBODY);
        }
        let mut cmd = wayland_command(env, &runtime, "sway");
        cmd.arg("-c").arg(&config);
        let log = home.join("sway.log");
        let mut sway = Started::spawn(cmd, "sway", &log);
        let display = wait_until(DRAW_LIMIT, "sway's Wayland socket", || {
            sway.assert_running(&log);
            std::fs::read_dir(&runtime).unwrap().find_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                (name.starts_with("wayland-") && !name.ends_with(".lock")).then_some(name)
            })
        });
        Sway {
            runtime,
            display,
            _sway: sway,
        }
    }

    fn command(&self, env: &TestEnv, program: &str) -> Command {
        let mut cmd = wayland_command(env, &self.runtime, program);
        cmd.env("WAYLAND_DISPLAY", &self.display);
        cmd
    }

    fn screenshot(&self, env: &TestEnv) -> Shot {
        let mut grim = self.command(env, "grim");
        grim.arg("-");
        let out = grim.output().expect("grim (scripts/test installs it)");
        assert!(
            out.status.success(),
            "grim: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let png = env.home.path().join("wayland.png");
        std::fs::write(&png, out.stdout).unwrap();
        Shot::load(png)
    }
}

/// `program` in `env`, as sway's user, with the headless backend's settings.
fn wayland_command(env: &TestEnv, runtime: &Path, program: &str) -> Command {
    let mut cmd = if is_root() {
        let mut cmd = env.command("setpriv");
        let id = NOBODY.to_string();
        cmd.args([
            "--reuid",
            &id,
            "--regid",
            &id,
            "--clear-groups",
            "--",
            program,
        ]);
        cmd
    } else {
        env.command(program)
    };
    cmd.env("XDG_RUNTIME_DIR", runtime)
        .env("WLR_BACKENDS", "headless")
        .env("WLR_RENDERER", "pixman")
        .env("WLR_LIBINPUT_NO_DEVICES", "1")
        .current_dir(env.home.path());
    cmd
}

#[test]
fn waybar_draws_each_percent_once_in_the_critical_class_colour() {
    let (_server, mut env) = refreshed();
    // opus (81%) over `crit`: the line's class is critical.
    env.config("crit = 80\n");
    let module = std::fs::read_to_string(snippet(&env, "waybar")).unwrap();
    let css = std::fs::read_to_string(snippet(&env, "waybar-css")).unwrap();
    let home = env.home.path().to_path_buf();
    let config = home.join("waybar.jsonc");
    std::fs::write(
        &config,
        format!(
            "{{\n\"layer\": \"top\",\n\"position\": \"top\",\n\"height\": 48,\n\
             \"modules-left\": [\"custom/quotaline\"],\n{module}}}\n"
        ),
    )
    .unwrap();
    let style = home.join("style.css");
    std::fs::write(
        &style,
        format!(
            "* {{ font-family: \"DejaVu Sans\"; font-size: 24px; }}\n\
             window#waybar {{ background: #000000; color: #ffffff; }}\n{css}"
        ),
    )
    .unwrap();
    let sway = Sway::start(&mut env, 1000, 48);
    let mut cmd = sway.command(&env, "waybar");
    cmd.arg("-c").arg(&config).arg("-s").arg(&style);
    let log = home.join("waybar.log");
    let mut bar = Started::spawn(cmd, "waybar", &log);
    let (shot, words) = wait_for_words(
        "waybar to draw the line",
        || sway.screenshot(&env),
        || bar.assert_running(&log),
        |w| w.iter().any(|w| w.text == "sonnet"),
    );
    assert_numbers_once(&words);
    // The class colours the whole module, labels too.
    for n in NUMBERS.into_iter().chain(["opus", "sonnet"]) {
        let word = find(&words, n)[0];
        let (red, green) = (shot.count_in(word, RED), shot.count_in(word, GREEN));
        assert!(red > 20 && green == 0, "{n}: {red} red, {green} green");
    }
}
