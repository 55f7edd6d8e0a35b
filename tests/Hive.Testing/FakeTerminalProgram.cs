namespace Hive.Testing;

/// <summary>
/// An interactive terminal program in Python (the test command installs python3), standing in for a CLI with no ACP
/// mode for <c>hivectl run --pty</c>: it logs, one JSON line each to the file <c>$FAKE_PTY_LOG</c>, how it started (its
/// pid, process group, session, whether it has a controlling terminal, whether its stdio are terminals, <c>$TERM</c>,
/// <c>$HIVE_SOCKET</c>) and each line it reads. Its mode is its first argument: <c>cli</c> clears the screen, prints a
/// banner and the prompt <c>&gt; </c> (Python's <c>input</c>, so the terminal's own line editing reads the line); each line
/// read is answered as a CLI redrawing would (a "thinking..." erased, a draft line overwritten from the line below, then
/// <c>reply: LINE IN CAPITALS</c> in bold) and the prompt shown again; a line holding <c>EXIT</c> is answered
/// <c>bye, exiting</c> and the program exits 3; the first one holding <c>HANG</c> is answered <c>working on it</c>
/// (logged as <c>hanging</c>) and the prompt only comes back after Ctrl-C, which is answered <c>interrupted</c>.
/// <c>mute</c> prints nothing and never shows a prompt.
/// </summary>
public static class FakeTerminalProgram
{
    public const string Script = """
        import json, os, sys, time
        mode = sys.argv[1]
        log = open(os.environ["FAKE_PTY_LOG"], "a")
        def note(**entry):
            log.write(json.dumps(entry) + "\n"); log.flush()
        try:
            open("/dev/tty").close(); ctty = True
        except OSError:
            ctty = False
        note(event="started", pid=os.getpid(), pgid=os.getpgid(0), sid=os.getsid(0), ctty=ctty,
             tty=os.isatty(0) and os.isatty(1), term=os.environ.get("TERM"), socket=os.environ.get("HIVE_SOCKET"))
        if mode == "mute":
            time.sleep(3600)
        sys.stdout.write("\x1b[2J\x1b[Hfake cli 1.0: type a message\n"); sys.stdout.flush()
        hung = False
        while True:
            try:
                line = input("> ")
            except EOFError:
                break
            note(event="read", line=line)
            if "EXIT" in line:
                print("bye, exiting", flush=True)
                sys.exit(3)
            if "HANG" in line and not hung:
                hung = True
                try:
                    print("working on it", flush=True)
                    note(event="hanging")
                    time.sleep(3600)
                except KeyboardInterrupt:
                    print("interrupted", flush=True)
                    continue
            sys.stdout.write("thinking...\r\x1b[K"); sys.stdout.flush()
            sys.stdout.write("draft\n\x1b[1A\x1b[2K\x1b[1mreply:\x1b[0m " + line.upper() + "\n"); sys.stdout.flush()
        """;

    /// <summary>Writes the script into <paramref name="directory"/>; its path.</summary>
    public static string WriteTo(string directory)
    {
        var path = Path.Combine(directory, "fake_terminal_program.py");
        File.WriteAllText(path, Script.Replace("\r", ""));
        return path;
    }
}
