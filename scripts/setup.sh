#!/usr/bin/env bash
# Install dataver into .venv (and, with --test, everything the test suite needs: system packages,
# real dvc in .venv-dvc, remote servers). Safe to re-run: finished steps are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

need_apt=()
command -v git >/dev/null || need_apt+=(git)
if [ $want_tests = 1 ]; then
  command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
  command -v npm >/dev/null || need_apt+=(nodejs npm)
  # Debian's browser and driver for the HTML card report tests (never downloaded by Selenium).
  [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || need_apt+=(chromium chromium-driver)
  # Real git-lfs and git-annex for the migration tests (tests/migrate).
  command -v git-lfs >/dev/null || need_apt+=(git-lfs)
  command -v git-annex >/dev/null || need_apt+=(git-annex)
  # zsh, to run the generated zsh completion script (tests/func/test_doctor_completion.py).
  command -v zsh >/dev/null || need_apt+=(zsh)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

extras="all"
[ $want_tests = 1 ] && extras="all,test"
stamp=".venv/.installed-$(cat pyproject.toml | md5sum | cut -c1-12)-$extras"
if [ ! -f "$stamp" ]; then
  echo "== creating .venv (dataver[$extras])"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/pip install -q -e ".[$extras]" 2>&1 | grep -v "is ignored" || true
  .venv/bin/python -c "import dataver" && touch "$stamp"
fi

if [ $want_tests = 1 ]; then
  # Real DVC for the compatibility tests, isolated so its pins never touch dataver's environment.
  if [ ! -x .venv-dvc/bin/dvc ]; then
    echo "== creating .venv-dvc (dvc 3.67.1)"
    "$PY" -m venv .venv-dvc
    .venv-dvc/bin/pip install -q 'dvc[s3]==3.67.1' 2>&1 | grep -v "is ignored" || true
    .venv-dvc/bin/dvc --version >/dev/null
  fi
  # DVC's SSH and WebDAV plugins, for compat tests against those servers.
  if [ ! -f .venv-dvc/.extras-ssh-webdav ]; then
    echo "== adding dvc[ssh,webdav] to .venv-dvc"
    .venv-dvc/bin/pip install -q 'dvc[s3,ssh,webdav]==3.67.1' 2>&1 | grep -v "is ignored" || true
    .venv-dvc/bin/python -c "import dvc_ssh, dvc_webdav" && touch .venv-dvc/.extras-ssh-webdav
  fi
  # Azurite (Azure blob emulator) for the Azure remote tests, repo-local (tests/remotes/server_azure.py).
  azurite_version=3.37.0
  if [ ! -f ".cache/azurite/.installed-$azurite_version" ]; then
    echo "== npm install azurite@$azurite_version into .cache/azurite"
    mkdir -p .cache/azurite
    npm install --prefix .cache/azurite --no-audit --no-fund --loglevel=error "azurite@$azurite_version" >/dev/null
    [ -x .cache/azurite/node_modules/.bin/azurite-blob ] && touch ".cache/azurite/.installed-$azurite_version"
  fi
  # moto's S3 server, which keeps object versions, for the cloud-versioned remote tests
  # (tests/remotes/server_moto.py); in its own venv: its boto3 pins botocore exactly, which
  # fights s3fs's aiobotocore pin in .venv.
  moto_stamp=".venv-moto/.installed-moto-5.2.6"
  if [ ! -f "$moto_stamp" ]; then
    echo "== creating .venv-moto (moto 5.2.6)"
    [ -x .venv-moto/bin/python ] || "$PY" -m venv .venv-moto
    .venv-moto/bin/pip install -q 'moto[server]==5.2.6' 2>&1 | grep -v "is ignored" || true
    [ -x .venv-moto/bin/moto_server ] && touch "$moto_stamp"
  fi
  # A real Git LFS server for the migration tests (tests/migrate/lfs_server.py): giftless in its
  # own venv. Its wheel declares no dependencies, so they are listed here; PyJWT<2.10 because
  # 2.10 rejects the anonymous (subject-less) upload tokens giftless issues.
  lfs_stamp=".venv-lfs/.installed-giftless-0.6.2"
  if [ ! -f "$lfs_stamp" ]; then
    echo "== creating .venv-lfs (giftless 0.6.2)"
    [ -x .venv-lfs/bin/python ] || "$PY" -m venv .venv-lfs
    .venv-lfs/bin/pip install -q 'giftless==0.6.2' figcan flask flask-classful flask-marshmallow \
      webargs pyyaml python-dotenv 'PyJWT<2.10' python-dateutil typing-extensions cachetools \
      2>&1 | grep -v "is ignored" || true
    .venv-lfs/bin/python -c "import giftless.wsgi_entrypoint" 2>/dev/null && touch "$lfs_stamp"
  fi
fi
