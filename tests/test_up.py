"""`commlog up` on an empty folder: the newcomer's first five minutes."""

import os
import re
import signal
import subprocess
import sys

import requests

from tests.conftest import csrf_token_from, free_port, run_commlog, wait_for


def start_up(folder, env, port, smtp_port):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "console.cli",
            "up",
            "--port",
            str(port),
            "--smtp-port",
            str(smtp_port),
        ],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    banner = []
    for line in process.stdout:
        banner.append(line)
        if "Press Ctrl-C" in line:
            break
    return process, "".join(banner)


def stop(process):
    process.send_signal(signal.SIGINT)
    try:
        process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()


def console_answers(base):
    try:
        return requests.get(f"{base}/login", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def test_up_on_an_empty_folder_runs_everything(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMLOG_")}
    env["PYTHONUNBUFFERED"] = "1"
    port, smtp_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    process, banner = start_up(tmp_path, env, port, smtp_port)
    try:
        match = re.search(r"Log in as (\S+) with the password (\S+)", banner)
        assert match, banner
        email, password = match.groups()
        assert f"Open {base}/" in banner
        wait_for(lambda: console_answers(base), what="the console to answer")

        session = requests.Session()
        token = csrf_token_from(session.get(f"{base}/login").text)
        response = session.post(
            f"{base}/login", data={"email": email, "password": password, "csrf_token": token}
        )
        assert response.url == f"{base}/log" and "Communications log" in response.text

        env["COMMLOG_HOME"] = str(tmp_path / "var")
        sent = run_commlog(
            [
                "send",
                "--to",
                "newcomer@example.com",
                "--subject",
                "First message",
                "--body",
                "It works.",
            ],
            env,
            cwd=tmp_path,
        )
        assert sent.returncode == 0, sent.stderr
        uid = sent.stdout.split()[-1]
        mail_folder = tmp_path / "var" / "mail"
        eml = wait_for(lambda: list(mail_folder.glob("*.eml")), what="the .eml file")[0]
        assert f"<{uid}@commlog>" in eml.read_text() and "First message" in eml.read_text()
        wait_for(lambda: "Sent" in session.get(f"{base}/log").text, what="Sent in the log")
    finally:
        stop(process)
    assert process.returncode is not None
    assert not console_answers(base), "the console still answers after Ctrl-C"

    # a second start reuses the database and the login, and prints no new password
    process, banner = start_up(tmp_path, env, port, smtp_port)
    try:
        assert "with the password" not in banner
        assert "printed the first time" in banner
        wait_for(lambda: console_answers(base), what="the console to answer again")
        session = requests.Session()
        token = csrf_token_from(session.get(f"{base}/login").text)
        response = session.post(
            f"{base}/login", data={"email": email, "password": password, "csrf_token": token}
        )
        assert "newcomer@example.com" in response.text
    finally:
        stop(process)
