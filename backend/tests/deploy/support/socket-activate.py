#!/usr/bin/env python3
"""What systemd does for flashbill-api.socket + .service, for tests without a running systemd.

  socket-activate.py serve --port P --ctl DIR -- CMD...   hold 127.0.0.1:P, run CMD with it as fd 3
                                                          (LISTEN_FDS=1, LISTEN_PID); restart CMD
                                                          after a failure (Restart=on-failure)
  socket-activate.py restart --ctl DIR                    like `systemctl restart`: SIGTERM the
                                                          process, wait for it to exit, start CMD again

The socket stays open across restarts, so connections made meanwhile wait in its queue. CMD is
resolved at each start (it goes through the `current` symlink, as ExecStart does).
"""
import argparse, os, signal, socket, sys, time

def serve(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(4096)
    os.makedirs(args.ctl, exist_ok=True)
    state = {"child": None, "status": None, "gen": 0, "restart": False, "stop": False}

    def start():
        pid = os.fork()
        if pid == 0:
            try:
                # SD_LISTEN_FDS_START, inheritable (dup2 onto itself would keep close-on-exec).
                if sock.fileno() == 3:
                    os.set_inheritable(3, True)
                else:
                    os.dup2(sock.fileno(), 3)
                env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
                os.execve(args.cmd[0], args.cmd, env)
            finally:
                os._exit(127)
        state["child"] = pid
        state["status"] = None
        state["gen"] += 1
        with open(os.path.join(args.ctl, "generation.tmp"), "w") as f:
            f.write(str(state["gen"]))
        os.replace(os.path.join(args.ctl, "generation.tmp"), os.path.join(args.ctl, "generation"))

    def reap(block):
        pid = state["child"]
        if pid is None or state["status"] is not None:
            return state["status"]
        done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
        if done:
            state["status"] = os.waitstatus_to_exitcode(status)
        return state["status"]

    def stop_child():
        if state["child"] is None or reap(False) is not None:
            return
        os.kill(state["child"], signal.SIGTERM)
        deadline = time.time() + 40
        while reap(False) is None:
            if time.time() > deadline:
                os.kill(state["child"], signal.SIGKILL)
                reap(True)
                break
            time.sleep(0.02)

    signal.signal(signal.SIGHUP, lambda *_: state.update(restart=True))
    signal.signal(signal.SIGTERM, lambda *_: state.update(stop=True))
    with open(os.path.join(args.ctl, "pid"), "w") as f:
        f.write(str(os.getpid()))
    while not state["stop"]:
        if state["restart"]:
            state["restart"] = False
            stop_child()
            start()
        if state["child"] is not None and reap(False) not in (None, 0):
            time.sleep(1)  # RestartSec
            if not state["restart"] and not state["stop"]:
                start()
        time.sleep(0.05)
    stop_child()

def restart(args):
    gen_file = os.path.join(args.ctl, "generation")
    before = open(gen_file).read() if os.path.exists(gen_file) else "0"
    os.kill(int(open(os.path.join(args.ctl, "pid")).read()), signal.SIGHUP)
    deadline = time.time() + 60
    while time.time() < deadline:
        if os.path.exists(gen_file) and open(gen_file).read() != before:
            return 0
        time.sleep(0.05)
    print("restart timed out", file=sys.stderr)
    return 1

p = argparse.ArgumentParser()
p.add_argument("mode", choices=["serve", "restart"])
p.add_argument("--port", type=int)
p.add_argument("--ctl", required=True)
argv = sys.argv[1:]
cmd = argv[argv.index("--") + 1:] if "--" in argv else []
a = p.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
a.cmd = cmd
sys.exit(serve(a) if a.mode == "serve" else restart(a))
