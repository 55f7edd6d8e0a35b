namespace Hive.Tests.Features.Containers.Fakes;

/// <summary>
/// A fake <c>nixos-container</c> in a temp dir of its own (a POSIX sh script, mode 0700, written at run time so no build
/// step has to keep an execute bit). It records every call's argv in <c>argv.log</c> (one line per call, arguments
/// tab-separated), keeps each container's state in <c>containers/&lt;name&gt;</c> (<c>up</c> or <c>down</c>; no file: no
/// container), and runs nothing: the state files are the truth. A file <c>fail-&lt;verb&gt;</c> makes that verb exit 1
/// with its content on stderr; a file <c>hang-&lt;verb&gt;</c> makes it never answer. A test flips a container to down to simulate its end.
/// </summary>
public sealed class FakeNixosContainer : IDisposable
{
    private const string Script = """
        #!/bin/sh
        # Fake nixos-container for Hive's tests: see FakeNixosContainer.cs.
        dir=$(cd "$(dirname "$0")" && pwd)
        line=""
        sep=""
        for arg in "$@"; do line="$line$sep$arg"; sep=$(printf '\t'); done
        # One write per call, so concurrent calls (the status poll) never interleave within a line.
        printf '%s\n' "$line" >> "$dir/argv.log"
        verb=$1
        name=$2
        if [ -e "$dir/fail-$verb" ]; then cat "$dir/fail-$verb" >&2; exit 1; fi
        if [ -e "$dir/hang-$verb" ]; then exec sleep 600; fi
        state="$dir/containers/$name"
        case "$verb" in
          create)
            if [ -e "$state" ]; then echo "/etc/nixos-containers/$name.conf already exists" >&2; exit 1; fi
            if [ "$3" != "--config-file" ] || [ ! -f "$4" ]; then echo "create needs --config-file FILE" >&2; exit 1; fi
            mkdir -p "$dir/containers" && cp "$4" "$dir/containers/$name.nix" && echo down > "$state" ;;
          start|stop)
            if [ ! -e "$state" ]; then echo "/etc/nixos-containers/$name.conf: no such container" >&2; exit 1; fi
            if [ "$verb" = start ]; then echo up > "$state"; else echo down > "$state"; fi ;;
          destroy)
            if [ ! -e "$state" ]; then echo "/etc/nixos-containers/$name.conf: no such container" >&2; exit 1; fi
            rm -f "$state" "$dir/containers/$name.nix" ;;
          status)
            if [ -e "$state" ]; then cat "$state"; else echo gone; fi ;;
          run)
            if [ "$(cat "$state" 2>/dev/null)" != up ]; then echo "$name is not running" >&2; exit 1; fi ;;
          *)
            echo "unknown command: $verb" >&2; exit 2 ;;
        esac
        """;

    public FakeNixosContainer()
    {
        Dir = Path.Combine(Path.GetTempPath(), "hive-fake-nixos-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Dir);
        using (var stream = new FileStream(Executable, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
        }))
        using (var writer = new StreamWriter(stream))
            writer.Write(Script.ReplaceLineEndings("\n") + "\n");
    }

    public string Dir { get; }

    public string Executable => Path.Combine(Dir, "nixos-container");

    /// <summary>Every call so far, each its argv.</summary>
    public IReadOnlyList<string[]> Calls =>
        File.Exists(LogPath) ? File.ReadAllLines(LogPath).Select(l => l.Split('\t')).ToList() : [];

    /// <summary>The calls but the status polls (whose number depends on timing), each as one space-joined line.</summary>
    public IReadOnlyList<string> Actions => Calls.Where(c => c[0] != "status").Select(c => string.Join(' ', c)).ToList();

    public string RawLog => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    private string LogPath => Path.Combine(Dir, "argv.log");

    public void ClearLog() => File.Delete(LogPath);

    /// <summary><c>up</c>, <c>down</c>, or null when the container does not exist.</summary>
    public string? State(string container) => File.Exists(StatePath(container)) ? File.ReadAllText(StatePath(container)).Trim() : null;

    public void SetState(string container, string state) => File.WriteAllText(StatePath(container), state + "\n");

    public string? Config(string container) =>
        File.Exists(Path.Combine(Dir, "containers", container + ".nix")) ? File.ReadAllText(Path.Combine(Dir, "containers", container + ".nix")) : null;

    /// <summary>Makes <paramref name="verb"/> fail with <paramref name="stderr"/> until <see cref="Heal"/>.</summary>
    public void Fail(string verb, string stderr) => File.WriteAllText(Path.Combine(Dir, "fail-" + verb), stderr + "\n");

    public void Heal(string verb) => File.Delete(Path.Combine(Dir, "fail-" + verb));

    /// <summary>Makes <paramref name="verb"/> hang (a sleep in its place) until killed.</summary>
    public void Hang(string verb) => File.WriteAllText(Path.Combine(Dir, "hang-" + verb), "");

    private string StatePath(string container) => Path.Combine(Dir, "containers", container);

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
