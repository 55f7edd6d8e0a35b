using System.Text;
using System.Text.RegularExpressions;
using PseudoTerminal = Hive.Features.Containers.Terminal.Pty;

namespace Hive.Cli.Commands.Agent.Run.Pty;

/// <summary>
/// A terminal program kept by <see cref="PtyTurns"/>: COMMAND on a pseudo-terminal of <see cref="Columns"/> ×
/// <see cref="Rows"/> (a session and process group of its own, the pty its controlling terminal), its output read into a
/// <see cref="TerminalScreen"/> by a thread of its own, text typed into it, and waits on what the screen shows. Stopping it
/// stops its whole group; the harness dying closes the pty, and the kernel hangs its session up.
/// </summary>
internal sealed class PtyProgram : IAsyncDisposable
{
    public const int Columns = 100;
    public const int Rows = 30;

    /// <summary>How long the screen must stay as it is, no output coming, before a wait on it counts as met.</summary>
    private static readonly TimeSpan IdleSettle = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan EchoSettle = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest wait for typed text to show before Enter is pressed anyway (a program that echoes nothing).</summary>
    private static readonly TimeSpan EchoWait = TimeSpan.FromSeconds(1);

    private readonly PseudoTerminal _pty;
    private readonly CommandProcess _process;
    private readonly TerminalScreen _screen = new(Columns, Rows);
    private readonly TerminalParser _parser;
    private readonly object _gate = new();
    private readonly object _writing = new();
    private readonly List<string> _answers = [];
    private readonly Task _reading;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _bytes;
    private long _version;
    private volatile bool _closing;

    private PtyProgram(PseudoTerminal pty, CommandProcess process, string name)
    {
        (_pty, _process, Name) = (pty, process, name);
        _parser = new TerminalParser(_screen, _answers.Add);
        _reading = Task.Factory.StartNew(ReadLoop, TaskCreationOptions.LongRunning);
        _ = process.Process.WaitForExitAsync().ContinueWith(_ => Signal(), TaskScheduler.Default);
    }

    /// <summary>
    /// Starts <paramref name="argv"/> on a new pty. Throws <see cref="IOException"/> (no pty), and as
    /// <see cref="CommandProcess.StartOnTerminal"/> does when it cannot run.
    /// </summary>
    public static PtyProgram Start(string[] argv, IReadOnlyDictionary<string, string> environment)
    {
        var pty = PseudoTerminal.Open(Columns, Rows);
        try
        {
            return new PtyProgram(pty, CommandProcess.StartOnTerminal(argv, environment, pty.SlavePath), Path.GetFileName(argv[0]));
        }
        catch
        {
            pty.Dispose();
            throw;
        }
    }

    /// <summary>The program's name, for what is said of it.</summary>
    public string Name { get; }

    public int Pid => _process.Process.Id;

    public bool HasExited => _process.Process.HasExited;

    /// <summary>How it ended, in a sentence (once <see cref="HasExited"/>).</summary>
    public string Exited => $"{Name} exited (exit code {_process.Process.ExitCode})";

    /// <summary>Bytes of output read so far: a mark to wait for output after.</summary>
    public long Output
    {
        get
        {
            lock (_gate) return _bytes;
        }
    }

    /// <summary>The screen as text, and its version (which changes with every read of output).</summary>
    public (string Text, long Version) Screen
    {
        get
        {
            lock (_gate) return (_screen.Text, _version);
        }
    }

    /// <summary>Once no more output can come (every holder of the pty gone), or the program is being stopped.</summary>
    public Task Drained => _reading;

    /// <summary>Types <paramref name="text"/> (bytes as they are: control characters are the caller's to leave out or mean).</summary>
    public async Task TypeAsync(string text, CancellationToken ct)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        // A program that does not read lets the pty's input queue fill, and a write then blocks: on a thread of its own,
        // given up with the turn (stopping the program closes the pty, which ends the write).
        if (!await Task.Run(() => Write(bytes), CancellationToken.None).WaitAsync(ct))
            throw new PtyFailure(HasExited ? Exited : $"{Name}'s terminal closed");
    }

    /// <summary>Until output has come after <paramref name="after"/> and settled: the typed text echoed, at most <see cref="EchoWait"/>.</summary>
    public async Task UntilEchoedAsync(long after, CancellationToken ct)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct);
        bounded.CancelAfter(EchoWait);
        try
        {
            await UntilAsync(bytes => bytes > after, EchoSettle, bounded.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // nothing shown in time: Enter is pressed anyway
        }
    }

    /// <summary>
    /// Until output has come after <paramref name="after"/> and the line the cursor is on, up to the cursor, matches
    /// <paramref name="idle"/>, the screen then staying as it is for <see cref="IdleSettle"/>. Throws <see cref="PtyFailure"/>
    /// when the program exits first, <see cref="OperationCanceledException"/> when <paramref name="ct"/> is cancelled.
    /// </summary>
    public Task UntilIdleAsync(Regex idle, long after, CancellationToken ct) =>
        UntilAsync(bytes => bytes > after && Matches(idle, _screen.CursorLine), IdleSettle, ct);

    private async Task UntilAsync(Func<long, bool> ready, TimeSpan settle, CancellationToken ct)
    {
        while (true)
        {
            Task changed;
            bool holds;
            lock (_gate) (changed, holds) = (_changed.Task, ready(_bytes));
            if (HasExited) throw new PtyFailure(Exited);
            if (!holds)
            {
                await changed.WaitAsync(ct);
                continue;
            }
            if (await Task.WhenAny(changed, Task.Delay(settle, ct)) == changed) continue;
            ct.ThrowIfCancellationRequested();
            return;
        }
    }

    private static bool Matches(Regex pattern, string line)
    {
        try
        {
            return pattern.IsMatch(line);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private void ReadLoop()
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = _pty.Read(buffer, 250);
            if (read < 0)
            {
                if (_closing) break;
                continue;
            }
            if (read == 0) break; // every holder of the pty's slave is gone
            string[] answers;
            lock (_gate)
            {
                _parser.Read(buffer.AsSpan(0, read));
                _bytes += read;
                _version++;
                answers = [.. _answers];
                _answers.Clear();
            }
            foreach (var answer in answers) Write(Encoding.ASCII.GetBytes(answer));
            Signal();
        }
        Signal();
    }

    private bool Write(byte[] bytes)
    {
        lock (_writing) return _pty.Write(bytes);
    }

    private void Signal()
    {
        TaskCompletionSource changed;
        lock (_gate) (changed, _changed) = (_changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        changed.TrySetResult();
    }

    /// <summary>Stops the program's group (SIGTERM, SIGKILL after 2 s), then closes the pty once the reading thread has let go.</summary>
    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync(TimeSpan.FromSeconds(2));
        _closing = true;
        await _reading;
        _pty.Dispose();
        _process.Dispose();
    }
}

/// <summary>A terminal program's turn went wrong: the sentence is the turn's note.</summary>
internal sealed class PtyFailure(string message) : Exception(message);
