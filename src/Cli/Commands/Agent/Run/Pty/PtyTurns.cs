using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Hive.Cli.Commands.Agent.Run.Pty;

/// <summary>
/// <c>hivectl run --pty</c>: the idle prompt a terminal program shows when it waits for a person (matched on the line
/// the cursor is on, up to the cursor), how long it has to show it first, and how long a turn may take.
/// </summary>
internal sealed record PtyOptions(Regex IdlePrompt, TimeSpan StartTimeout, TimeSpan TurnTimeout)
{
    /// <summary>A prompt character (<c>&gt; $ # % ❯ ›</c>) just before the cursor, perhaps a space between.</summary>
    public const string DefaultIdlePrompt = @"[>$#%❯›]\s*$";
}

/// <summary>
/// The harness typing into a terminal program (<c>hivectl run --pty -- COMMAND</c>), for a CLI with no ACP mode: COMMAND
/// started once on a pseudo-terminal and kept between wakes (<see cref="PtyProgram"/>; started again at the next wake
/// once it has exited), its idle prompt awaited before the first message; each message typed as a person would (its
/// line, <see cref="TypedLine"/>, then Enter once it shows) and its answer awaited until the idle prompt is back. The
/// screen (<see cref="TerminalScreen"/>) goes to the transcript, a <c>screen</c> entry, after each message and every
/// <see cref="ScreenEvery"/> while it changes. No figures (<see cref="NoTurnStats"/>). COMMAND exiting, or the prompt not
/// back within the turn's time, fails the turn with the reason, and COMMAND is stopped; a turn the hive revokes is
/// interrupted (Ctrl-C), and COMMAND stopped if its prompt is not back within the grace.
/// </summary>
internal sealed class PtyTurns(string socketPath, string[] argv, PtyOptions options, TextWriter log) : ITurnRunner
{
    /// <summary>How often a running turn's screen is sent while it changes.</summary>
    private static readonly TimeSpan ScreenEvery = TimeSpan.FromSeconds(10);

    /// <summary>How long an interrupted program gets to show its prompt again before it is stopped.</summary>
    private static readonly TimeSpan InterruptGrace = TimeSpan.FromSeconds(5);

    private readonly object _screenGate = new();
    private PtyProgram? _program;
    private long _screenSent = -1;

    public async Task<TurnOutcome> TurnAsync(List<JsonObject> messages, TurnSlot? slot, Conversation conversation, TranscriptForwarder transcript)
    {
        var started = DateTimeOffset.UtcNow;
        string? failure = null;
        TurnStop? stopped = null;
        using var turnOver = new CancellationTokenSource();
        var screens = SendScreensAsync(transcript, turnOver.Token);
        try
        {
            var program = await ProgramAsync(transcript);
            using var typingOver = new CancellationTokenSource(options.TurnTimeout);
            var typing = TypeAsync(program, messages, transcript, typingOver.Token);
            var watching = slot?.WatchAsync(log) ?? new TaskCompletionSource<TurnStop?>().Task;
            if (await Task.WhenAny(typing, watching) == watching && await watching is { } stop)
            {
                stopped = stop;
                await typingOver.CancelAsync();
                await InterruptAsync(program, stop, typing);
            }
            else
            {
                await WithinTurnAsync(typing, typingOver.Token);
            }
        }
        catch (PtyFailure e)
        {
            failure = e.Message;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            failure = $"{argv[0]} could not run: {e.Message}";
        }
        finally
        {
            await turnOver.CancelAsync();
            await screens;
        }
        if (_program is { } last)
        {
            // A program that exited may have said why on its way out: the screen is sent once its output is all read.
            if (last.HasExited) await Task.WhenAny(last.Drained, Task.Delay(TimeSpan.FromSeconds(1)));
            SendScreen(last, transcript);
        }
        if (failure is not null)
        {
            log.WriteLine($"hivectl run: the terminal program's turn failed: {failure}");
            transcript.Add([new TranscriptEntry("result", $"failed: {failure}")]);
            await StopAsync();
        }
        return new TurnOutcome(started, DateTimeOffset.UtcNow, failure is null && stopped is null ? 0 : 1, NoTurnStats.Instance, stopped, Failure: failure);
    }

    /// <summary>The running program, or a new one once it has shown its idle prompt (within the start timeout).</summary>
    private async Task<PtyProgram> ProgramAsync(TranscriptForwarder transcript)
    {
        if (_program is { HasExited: true } gone)
        {
            log.WriteLine($"hivectl run: {gone.Exited} since the last turn: starting it again");
            await StopAsync();
        }
        if (_program is { } running) return running;

        var program = _program = PtyProgram.Start(argv, new Dictionary<string, string> { ["HIVE_SOCKET"] = socketPath, ["TERM"] = "xterm" });
        transcript.Add([new TranscriptEntry("system", $"{program.Name} started on a {PtyProgram.Columns}×{PtyProgram.Rows} terminal (pid {program.Pid})")]);
        using var timeout = new CancellationTokenSource(options.StartTimeout);
        try
        {
            await program.UntilIdleAsync(options.IdlePrompt, 0, timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new PtyFailure($"{program.Name} did not show its idle prompt ({options.IdlePrompt}) within {options.StartTimeout.TotalSeconds:0.#} s of starting");
        }
        catch (PtyFailure e)
        {
            throw new PtyFailure($"{e.Message} before showing its idle prompt");
        }
        return program;
    }

    /// <summary>Each message typed, then Enter once the text shows; the turn goes on when the idle prompt is back.</summary>
    private async Task TypeAsync(PtyProgram program, List<JsonObject> messages, TranscriptForwarder transcript, CancellationToken ct)
    {
        foreach (var message in messages)
        {
            var line = TypedLine.Of(message);
            transcript.Add([new TranscriptEntry("system", $"typed: {StreamJson.Cut(line, StreamJson.MaxToolInput)}")]);
            var mark = program.Output;
            await program.TypeAsync(line, ct);
            await program.UntilEchoedAsync(mark, ct);
            mark = program.Output;
            await program.TypeAsync("\r", ct);
            await program.UntilIdleAsync(options.IdlePrompt, mark, ct);
            SendScreen(program, transcript);
        }
    }

    private async Task WithinTurnAsync(Task typing, CancellationToken turnTime)
    {
        try
        {
            await typing;
        }
        catch (OperationCanceledException) when (turnTime.IsCancellationRequested)
        {
            throw new PtyFailure($"the idle prompt ({options.IdlePrompt}) was not back within {options.TurnTimeout.TotalSeconds:0.#} s");
        }
    }

    /// <summary>A revoked turn: Ctrl-C typed, and the program stopped unless its prompt is back within the grace.</summary>
    private async Task InterruptAsync(PtyProgram program, TurnStop stop, Task typing)
    {
        log.WriteLine($"hivectl run: the hive stops the turn ({stop.Reason}): Ctrl-C, then the program is stopped if its prompt is not back");
        await Task.WhenAny(typing); // given up: it ends on its cancelled token
        using var grace = new CancellationTokenSource(stop.Grace < InterruptGrace ? stop.Grace : InterruptGrace);
        try
        {
            var mark = program.Output;
            await program.TypeAsync("\u0003", grace.Token);
            await program.UntilIdleAsync(options.IdlePrompt, mark, grace.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or PtyFailure)
        {
            await StopAsync();
        }
    }

    /// <summary>The screen to the transcript, unless it is the one last sent.</summary>
    private void SendScreen(PtyProgram program, TranscriptForwarder transcript)
    {
        var (text, version) = program.Screen;
        lock (_screenGate)
        {
            if (version == _screenSent) return;
            _screenSent = version;
        }
        transcript.Add([new TranscriptEntry("screen", text)]);
    }

    private async Task SendScreensAsync(TranscriptForwarder transcript, CancellationToken turnOver)
    {
        try
        {
            while (true)
            {
                await Task.Delay(ScreenEvery, turnOver);
                if (_program is { } program) SendScreen(program, transcript);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task StopAsync()
    {
        if (_program is { } program) await program.DisposeAsync();
        _program = null;
        lock (_screenGate) _screenSent = -1;
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
