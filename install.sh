#!/usr/bin/env bash
# Install the lightshowpi-autoencoder plugin into the Python that LightShowPi runs with.
#
# What it does (each step prints one line; --dry-run prints them without doing them):
#   * pip-installs this repository (numpy + ai-edge-litert where a wheel exists; no
#     TensorFlow) into that Python, keeping the numpy it already has;
#   * checks that lightshowpi_autoencoder.pth reached its site-packages and that the
#     plugin imports, and prints the interpreter backend it would use;
#   * copies the default model to DIR/config/autoencoder/;
#   * with --enable, adds "autoencoder = on" to [audio_processing] in DIR/config/overrides.cfg.
# --uninstall removes all of that again (in overrides.cfg exactly the lines --enable added).
# Before changing anything it checks that it can write everything it will write; a step that
# fails after that is undone (rollback), so no run leaves a half install.
set -euo pipefail

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
readonly REPO_DIR
readonly DIST="lightshowpi-autoencoder"
readonly PKG="lightshowpi_autoencoder"
readonly PTH="lightshowpi_autoencoder.pth"
readonly MODEL_FILES=(default.tflite default.json)
readonly MIN_PY="3.9"

usage() {
    cat <<EOF
Usage: install.sh [--python PY] [--lightshowpi DIR] [--enable] [--uninstall] [--dry-run] [-h]

Installs the lightshowpi-autoencoder plugin into the Python LightShowPi runs with.

  --python PY        the Python LightShowPi runs with. Default: DIR/venv/bin/python (the
                     venv of LightShowPi Neo; also DIR/.venv or Neo's conda env
                     lightshowpi-neo), else python3 on PATH (the original LightShowPi
                     runs "sudo python3": then run this script with sudo too)
  --lightshowpi DIR  the LightShowPi install (holds py/ and config/).
                     Default: \$SYNCHRONIZED_LIGHTS_HOME
  --enable           add "autoencoder = on" to [audio_processing] in DIR/config/overrides.cfg,
                     marked by a comment (first backup: overrides.cfg.bak-autoencoder beside it)
  --uninstall        remove the package, its .pth, DIR/config/autoencoder/ and exactly the
                     lines --enable added to overrides.cfg (your own lines stay, byte for
                     byte; the backup goes once the file is as it was)
  --dry-run          print what would be done, change nothing
  -h, --help         this help

Everything a run will write is checked before anything changes; if a step fails anyway,
the run undoes what it did.

Exit status: 0 done, 1 a step failed or a file cannot be written (nothing is left changed),
2 bad usage or DIR is not a LightShowPi install.
EOF
}

die() {  # die MESSAGE [STATUS]
    printf 'install.sh: %s\n' "$1" >&2
    exit "${2:-1}"
}

say() {  # say TAG TEXT: one line of output
    printf '%-11s %s\n' "$1" "$2"
}

DRY_RUN=0
DRY_NOTE=""
step() {  # step TAG TEXT: announce an action (marked as not done under --dry-run)
    if ((DRY_RUN)); then
        say "$1" "[dry-run] $2"
    else
        say "$1" "$2"
    fi
}

# ---------------------------------------------------------------- arguments
PY=""
LSP_DIR="${SYNCHRONIZED_LIGHTS_HOME:-}"
LSP_FROM="\$SYNCHRONIZED_LIGHTS_HOME"
ENABLE=0
UNINSTALL=0
while (($#)); do
    case "$1" in
        --python)      (($# >= 2)) || die "--python needs a value" 2; PY="$2"; shift 2 ;;
        --python=*)    PY="${1#*=}"; shift ;;
        --lightshowpi) (($# >= 2)) || die "--lightshowpi needs a value" 2; LSP_DIR="$2"; LSP_FROM="--lightshowpi"; shift 2 ;;
        --lightshowpi=*) LSP_DIR="${1#*=}"; LSP_FROM="--lightshowpi"; shift ;;
        --enable)      ENABLE=1; shift ;;
        --uninstall)   UNINSTALL=1; shift ;;
        --dry-run)     DRY_RUN=1; DRY_NOTE=" (dry run: nothing was changed)"; shift ;;
        -h|--help)     usage; exit 0 ;;
        *)             usage >&2; die "unknown argument: $1" 2 ;;
    esac
done
if ((ENABLE && UNINSTALL)); then
    die "--enable and --uninstall exclude each other" 2
fi

# ---------------------------------------------------------------- LightShowPi
[[ -n "$LSP_DIR" ]] || die "which LightShowPi? pass --lightshowpi DIR (SYNCHRONIZED_LIGHTS_HOME is not set)" 2
missing=()
for marker in py/synchronized_lights.py py/fft.py config/defaults.cfg; do
    [[ -f "$LSP_DIR/$marker" ]] || missing+=("$marker")
done
if ((${#missing[@]})); then
    die "$LSP_DIR (from $LSP_FROM) is not a LightShowPi install: it has no ${missing[*]}; pass --lightshowpi with the folder that holds py/synchronized_lights.py" 2
fi
LSP_DIR="$(cd "$LSP_DIR" && pwd -P)"
readonly LSP_DIR
readonly CONFIG_DIR="$LSP_DIR/config"
readonly MODEL_DEST="$CONFIG_DIR/autoencoder"
readonly OVERRIDES="$CONFIG_DIR/overrides.cfg"

IS_NEO=0
if [[ -f "$LSP_DIR/environment.yml" ]] && grep -q '^name: *lightshowpi-neo' "$LSP_DIR/environment.yml"; then
    IS_NEO=1
fi

# ---------------------------------------------------------------- the Python
# Neo's README: "python3 -m venv venv" in its folder, or the conda env "lightshowpi-neo"
# (~/miniconda3/envs/lightshowpi-neo in its systemd units); it starts the show with
# "sudo -E $(which python)". The original fork runs "sudo python3".
PY_WHY="--python"
if [[ -z "$PY" ]]; then
    conda_envs=()
    if ((IS_NEO)); then
        if [[ "${CONDA_PREFIX:-}" == */lightshowpi-neo ]]; then
            conda_envs+=("$CONDA_PREFIX")
        fi
        conda_envs+=("$HOME/miniconda3/envs/lightshowpi-neo")
        if [[ -n "${SUDO_USER:-}" ]]; then
            sudo_home="$(getent passwd "$SUDO_USER" | cut -d: -f6 || true)"
            [[ -z "$sudo_home" ]] || conda_envs+=("$sudo_home/miniconda3/envs/lightshowpi-neo")
        fi
    fi
    for candidate in "$LSP_DIR/venv" "$LSP_DIR/.venv" "${conda_envs[@]}"; do
        if [[ -x "$candidate/bin/python" ]]; then
            PY="$candidate/bin/python"
            PY_WHY="the environment in the LightShowPi folder, as LightShowPi Neo sets it up: $candidate"
            break
        fi
    done
    if [[ -z "$PY" ]]; then
        PY="$(command -v python3 || true)"
        [[ -n "$PY" ]] || die "no python3 on PATH; pass --python with the Python LightShowPi runs with" 2
        PY_WHY="python3 on PATH"
    fi
fi
if [[ "$PY" == */* ]]; then  # absolute, but keep a venv's symlink: resolving it would leave the venv
    py_dir="$(cd "$(dirname "$PY")" 2>/dev/null && pwd)" || die "$PY: no such directory" 2
    PY="$py_dir/$(basename "$PY")"
else
    PY="$(command -v "$PY")" || die "$PY: not found on PATH" 2
fi
[[ -x "$PY" ]] || die "$PY is not an executable Python" 2

# Everything run with the target Python starts in /, without PYTHONPATH, so that this
# checkout never shadows the installed package (sudo drops PYTHONPATH for LightShowPi too).
pyrun() {
    (cd / && env -u PYTHONPATH "$PY" "$@")
}

# One probe, one answer a line: version, new enough?, venv?, externally managed?,
# site-packages, writable?, numpy version (empty: none), pip?
probe="$(pyrun - "$MIN_PY" <<'PYEOF'
import os, sys, sysconfig
need = tuple(int(p) for p in sys.argv[1].split("."))
venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
marker = os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
purelib = sysconfig.get_path("purelib")
probe = purelib
while not os.path.isdir(probe) and os.path.dirname(probe) != probe:
    probe = os.path.dirname(probe)
try:
    from importlib.metadata import version
    numpy = version("numpy")
except Exception:
    numpy = ""
if numpy:
    try:
        import numpy as _np  # installed is not enough: it must import
    except Exception:
        numpy = ""
try:
    import pip  # noqa: F401
    has_pip = "1"
except Exception:
    has_pip = "0"
print("\n".join([
    "%d.%d.%d" % sys.version_info[:3],
    "1" if sys.version_info[:2] >= need else "0",
    "1" if venv else "0",
    "1" if (not venv and os.path.isfile(marker)) else "0",
    purelib,
    "1" if os.access(probe, os.W_OK) else "0",
    numpy,
    has_pip,
]))
PYEOF
)" || die "$PY does not run"
mapfile -t fields <<<"$probe"  # one per line: any of them may be empty
((${#fields[@]} == 8)) || die "$PY gave an unexpected answer: $probe"
PY_VERSION="${fields[0]}" PY_OK="${fields[1]}" PY_VENV="${fields[2]}" PY_MANAGED="${fields[3]}"
PY_SITE="${fields[4]}" PY_SITE_WRITABLE="${fields[5]}" NUMPY_VERSION="${fields[6]}" HAS_PIP="${fields[7]}"
((PY_OK)) || die "$PY is Python $PY_VERSION; the plugin needs Python $MIN_PY or newer" 2

if ((IS_NEO)); then
    say "lightshowpi" "$LSP_DIR (LightShowPi Neo)"
else
    say "lightshowpi" "$LSP_DIR"
fi
say "python" "$PY (Python $PY_VERSION; $PY_WHY)"

PIP_FLAGS=(--disable-pip-version-check --no-input)
if ((PY_MANAGED)); then
    PIP_FLAGS+=(--break-system-packages)
    say "python" "Debian's externally-managed system Python: pip gets --break-system-packages, as LightShowPi's own install.sh installs its packages into this Python"
fi
if ((EUID == 0)); then
    export PIP_ROOT_USER_ACTION=ignore
fi

STAGE="$(mktemp -d "${TMPDIR:-/tmp}/lspai-install.XXXXXX")"
readonly STAGE
# Set once this run starts changing things (never under --dry-run): a failure after that point
# undoes them (rollback, below), so that no run leaves a half install behind.
IN_PROGRESS=0
on_exit() {
    local rc=$?
    if ((rc != 0 && IN_PROGRESS)); then
        IN_PROGRESS=0
        rollback || true
    fi
    rm -rf "$STAGE"
    exit "$rc"
}
trap on_exit EXIT

pip_or_die() {  # pip_or_die WHAT ARGS...: run pip quietly; show its output if it fails
    local what="$1"
    shift
    if ! pyrun -m pip "$@" >"$STAGE/pip.log" 2>&1; then
        tail -n 25 "$STAGE/pip.log" >&2
        die "pip could not $what (its output is above)"
    fi
}

# The site-packages directories of the target Python (system and user).
site_dirs() {
    pyrun -c 'import site, sysconfig
dirs = list(getattr(site, "getsitepackages", lambda: [])()) + [sysconfig.get_path("purelib")]
user = getattr(site, "getusersitepackages", lambda: "")()
for d in dict.fromkeys(dirs + ([user] if user else [])):
    print(d)'
}

# ---------------------------------------------------------------- overrides.cfg
# install_overrides.py (beside this script) edits the lines, marks what it adds and takes back
# exactly that; it runs with the target Python (standard library only).
readonly OVERRIDES_EDITOR="$REPO_DIR/install_overrides.py"
[[ -f "$OVERRIDES_EDITOR" ]] || die "$OVERRIDES_EDITOR is missing: this checkout is incomplete"
edit_overrides() {  # edit_overrides enable|disable [--check]
    local flags=(--euid "$EUID")
    if ((DRY_RUN)); then flags+=(--dry-run); fi
    pyrun - "$1" "$OVERRIDES" "${flags[@]}" "${@:2}" <"$OVERRIDES_EDITOR"
}

# ---------------------------------------------------------------- before any change
# Everything a run will write is checked first, so that a refusal leaves nothing behind.
# ([[ -w ]] asks the kernel: an immutable file or a read-only filesystem refuses root too.)
PROBLEMS=()
need_writable() {  # need_writable PATH WHAT: note a problem if PATH cannot be written
    [[ -w "$1" ]] || PROBLEMS+=("cannot write $1 ($2)")
}

check_overrides() {  # check_overrides enable|disable: the editor's own check
    local out rc=0
    out="$(edit_overrides "$1" --check)" || rc=$?
    if ((rc == 3)); then
        while IFS= read -r line; do
            [[ -z "$line" ]] || PROBLEMS+=("$line")
        done <<<"$out"
    elif ((rc != 0)); then
        die "checking $OVERRIDES failed: $out"
    fi
}

refuse_if_problems() {  # refuse_if_problems WHAT: stop before any change, saying what to do
    ((${#PROBLEMS[@]})) || return 0
    local p
    for p in "${PROBLEMS[@]}"; do
        printf 'install.sh: %s\n' "$p" >&2
    done
    local fix
    if ((EUID == 0)); then
        fix="even root cannot write there: an immutable file or folder (lsattr shows 'i'; chattr -i PATH) or a read-only filesystem (mount -o remount,rw)"
    else
        fix="run install.sh as the user that owns $LSP_DIR, or with sudo"
    fi
    if ((ENABLE)) && [[ "${PROBLEMS[*]}" == *overrides.cfg* ]]; then
        fix="$fix; or leave out --enable and add \"autoencoder = on\" to [audio_processing] in $OVERRIDES yourself"
    fi
    die "$1: nothing was changed. Fix: $fix"
}

only_our_models() {  # only_our_models: MODEL_DEST holds nothing but the files install.sh copied
    local f
    for f in "$MODEL_DEST"/* "$MODEL_DEST"/.[!.]*; do
        [[ -e "$f" ]] || continue
        [[ " ${MODEL_FILES[*]} " == *" $(basename "$f") "* ]] || return 1
    done
}

# ---------------------------------------------------------------- uninstall
if ((UNINSTALL)); then
    installed=0 location=""
    if ((HAS_PIP)) && pyrun -m pip show "$DIST" >/dev/null 2>&1; then
        installed=1
        location="$(pyrun -m pip show "$DIST" 2>/dev/null | sed -n 's/^Location: //p')"
        need_writable "$location" "$DIST is installed there"
    fi
    while IFS= read -r dir; do
        [[ -n "$dir" && -f "$dir/$PTH" ]] || continue
        need_writable "$dir" "its start-up hook $PTH is there"
    done < <(site_dirs)
    if [[ -d "$MODEL_DEST" ]]; then
        need_writable "$MODEL_DEST" "the copy of the default model is there"
        if only_our_models; then
            need_writable "$CONFIG_DIR" "to remove $MODEL_DEST/"
        fi
    fi
    check_overrides disable
    refuse_if_problems "cannot uninstall"

    if ((!HAS_PIP)); then
        say "pip" "$PY has no pip, so no $DIST installed with pip (skipped)"
    elif ((installed)); then
        if ((!DRY_RUN)); then
            pip_or_die "uninstall $DIST" uninstall -y "${PIP_FLAGS[@]}" "$DIST"
        fi
        step "pip" "uninstalled $DIST (the package and $PTH) from $location"
        say "pip" "left its dependencies (numpy, ai-edge-litert) in place: LightShowPi may need numpy"
    else
        say "pip" "$DIST is not installed in $PY (unchanged)"
    fi
    while IFS= read -r dir; do  # a stray start-up hook, e.g. from a half-removed install
        [[ -n "$dir" && -f "$dir/$PTH" ]] || continue
        if ((DRY_RUN)); then
            [[ "$dir" != "${location:-}" ]] || continue  # pip uninstall takes that one
        else
            rm -f "$dir/$PTH"
        fi
        step "pip" "removed the leftover $dir/$PTH"
    done < <(site_dirs)

    if [[ -d "$MODEL_DEST" ]]; then
        for f in "${MODEL_FILES[@]}"; do
            if [[ -f "$MODEL_DEST/$f" ]]; then
                ((DRY_RUN)) || rm -f "$MODEL_DEST/$f"
                step "model" "removed $MODEL_DEST/$f"
            fi
        done
        if ((DRY_RUN)); then
            step "model" "removed $MODEL_DEST/ (if nothing else is in it)"
        elif rmdir "$MODEL_DEST" 2>/dev/null; then
            step "model" "removed $MODEL_DEST/"
        else
            say "model" "kept $MODEL_DEST/: it holds files install.sh did not put there"
        fi
    else
        say "model" "$MODEL_DEST/ does not exist (unchanged)"
    fi

    edit_overrides disable
    say "done" "$DIST is uninstalled$DRY_NOTE"
    exit 0
fi

# ---------------------------------------------------------------- install
((HAS_PIP)) || die "$PY has no pip: install it (Debian: sudo apt-get install python3-pip; a venv: $PY -m ensurepip)"
if ((!PY_SITE_WRITABLE)); then
    if ((PY_VENV)); then
        die "cannot write to $PY_SITE: run install.sh as the user that owns that environment"
    fi
    die "cannot write to $PY_SITE: LightShowPi runs this Python as root, so install the plugin as root too (sudo $0 ...); a per-user install would be invisible to it"
fi
for f in "${MODEL_FILES[@]}"; do
    [[ -f "$REPO_DIR/models/$f" ]] || die "$REPO_DIR/models/$f is missing: this checkout has no default model (make model builds it)"
done
if [[ -e "$MODEL_DEST" && ! -d "$MODEL_DEST" ]]; then
    PROBLEMS+=("$MODEL_DEST is not a folder (install.sh copies the default model into it): move it away")
elif [[ -d "$MODEL_DEST" ]]; then
    need_writable "$MODEL_DEST" "install.sh copies the default model into it"
    for f in "${MODEL_FILES[@]}"; do
        [[ ! -e "$MODEL_DEST/$f" ]] || need_writable "$MODEL_DEST/$f" "install.sh replaces it with the default model"
    done
else
    need_writable "$CONFIG_DIR" "install.sh creates $MODEL_DEST/ in it"
fi
if ((ENABLE)); then
    check_overrides enable
fi
refuse_if_problems "cannot install"

# What is there before this run, for the rollback if a later step fails.
WAS_INSTALLED=0
if pyrun -m pip show "$DIST" >/dev/null 2>&1; then WAS_INSTALLED=1; fi
MODEL_DIR_EXISTED=0
mkdir -p "$STAGE/models-before"
if [[ -d "$MODEL_DEST" ]]; then
    MODEL_DIR_EXISTED=1
    for f in "${MODEL_FILES[@]}"; do
        [[ ! -f "$MODEL_DEST/$f" ]] || cp -p "$MODEL_DEST/$f" "$STAGE/models-before/"
    done
fi
PIP_RAN=0 PIP_DONE=0 MODELS_TOUCHED=0
rollback() {  # undo what this run changed (the overrides.cfg edit, the last step, undoes itself)
    say "rollback" "a step failed: undoing this run's changes"
    local f
    if ((MODELS_TOUCHED)); then
        for f in "${MODEL_FILES[@]}"; do
            if [[ -f "$STAGE/models-before/$f" ]]; then
                cp -p "$STAGE/models-before/$f" "$MODEL_DEST/$f"
            else
                rm -f "$MODEL_DEST/$f"
            fi
        done
        if ((!MODEL_DIR_EXISTED)); then rmdir "$MODEL_DEST" 2>/dev/null || true; fi
        say "rollback" "$MODEL_DEST/ is as it was"
    fi
    if ((PIP_DONE && WAS_INSTALLED)); then
        say "rollback" "the $DIST that was installed in $PY before has been replaced by this checkout's (pip keeps no copy to put back); install.sh --uninstall removes it"
    elif ((PIP_RAN && !WAS_INSTALLED)); then
        pyrun -m pip uninstall -y "${PIP_FLAGS[@]}" "$DIST" >/dev/null 2>&1 || true
        while IFS= read -r dir; do
            [[ -z "$dir" ]] || rm -f "$dir/$PTH"
        done < <(site_dirs)
        if pyrun -m pip show "$DIST" >/dev/null 2>&1; then
            say "rollback" "could not uninstall $DIST from $PY: run install.sh --uninstall"
        else
            say "rollback" "uninstalled $DIST (and $PTH) from $PY again (dependencies pip added stay, as with --uninstall)"
        fi
    fi
}

# Build from a copy of the sources: nothing is written into the checkout (it may belong to
# another user, or be in use), and no stale build/ of an older checkout leaks into the wheel.
src="$STAGE/src"
mkdir -p "$src/models"
cp "$REPO_DIR/pyproject.toml" "$REPO_DIR/setup.py" "$REPO_DIR/$PTH" "$src/"
for f in "$REPO_DIR"/README* "$REPO_DIR"/LICENSE*; do
    if [[ -f "$f" ]]; then cp "$f" "$src/"; fi
done
cp -R "$REPO_DIR/$PKG" "$src/"
find "$src" -name __pycache__ -prune -exec rm -rf {} +
for f in "${MODEL_FILES[@]}"; do cp "$REPO_DIR/models/$f" "$src/models/"; done

install_args=(install "${PIP_FLAGS[@]}")
if [[ -n "$NUMPY_VERSION" ]]; then
    printf 'numpy==%s\n' "$NUMPY_VERSION" >"$STAGE/constraints.txt"
    install_args+=(--constraint "$STAGE/constraints.txt")
    say "numpy" "keeping numpy $NUMPY_VERSION (pinned as a pip constraint: no upgrade, no downgrade)"
else
    say "numpy" "not installed in $PY: pip installs it with the plugin"
fi
install_args+=("$src")
if ((!DRY_RUN)); then
    IN_PROGRESS=1 PIP_RAN=1
    if [[ -n "$NUMPY_VERSION" ]]; then
        pip_or_die "install $DIST from $REPO_DIR into $PY while keeping numpy $NUMPY_VERSION" "${install_args[@]}"
    else
        pip_or_die "install $DIST from $REPO_DIR into $PY" "${install_args[@]}"
    fi
    PIP_DONE=1  # (a failed pip install undoes itself)
fi
step "pip" "installed $DIST from $REPO_DIR into $PY_SITE (numpy + ai-edge-litert where a wheel exists; no TensorFlow)"

if ((!DRY_RUN)); then
    location="$(pyrun -m pip show "$DIST" 2>/dev/null | sed -n 's/^Location: //p')"
    [[ -n "$location" ]] || die "pip reports no $DIST in $PY after installing it"
    [[ -f "$location/$PTH" ]] || die "$PTH did not land in $location"
    say "check" "$PTH is in $location"
    pyrun -c "import $PKG.host" || die "import $PKG.host fails with $PY"
    say "check" "import $PKG.host works with $PY"
    SYNCHRONIZED_LIGHTS_HOME="$LSP_DIR" pyrun -c "import sys; from $PKG.startup import FftFinder
sys.exit(0 if any(isinstance(f, FftFinder) for f in sys.meta_path) else 1)" \
        || die "the start-up hook $PTH did not run in $PY"
    say "check" "the start-up hook runs when SYNCHRONIZED_LIGHTS_HOME is set"
    # (stderr kept aside: LiteRT greets on it)
    if ! backend="$(pyrun -c "from $PKG import encoder, modelfile
print(encoder.Encoder(modelfile.load(modelfile.default_model_path())).backend)" 2>"$STAGE/backend.log")"; then
        cat "$STAGE/backend.log" >&2
        die "no interpreter backend can run the default model with $PY"
    fi
    say "backend" "$backend (the interpreter that runs the model in $PY)"
    if [[ -n "$NUMPY_VERSION" ]]; then
        now="$(pyrun -c 'from importlib.metadata import version; print(version("numpy"))')"
        [[ "$now" == "$NUMPY_VERSION" ]] || die "numpy changed from $NUMPY_VERSION to $now"
        say "check" "numpy is still $now"
    fi
fi

if ((!DRY_RUN)); then
    MODELS_TOUCHED=1
    mkdir -p "$MODEL_DEST"
    cp "${MODEL_FILES[@]/#/$REPO_DIR/models/}" "$MODEL_DEST/"
    if ((EUID == 0)); then  # keep the user's config folder the user's
        chown --reference="$CONFIG_DIR" "$MODEL_DEST" "${MODEL_FILES[@]/#/$MODEL_DEST/}" 2>/dev/null || true
    fi
fi
step "model" "copied ${MODEL_FILES[*]} to $MODEL_DEST/ (for reference: the plugin uses the copy inside the package unless autoencoder_model says otherwise)"

if ((ENABLE)); then
    edit_overrides enable
else
    say "config" "not enabled: add \"autoencoder = on\" to [audio_processing] in $OVERRIDES, or rerun with --enable"
fi
IN_PROGRESS=0
say "done" "$DIST is installed$DRY_NOTE"
