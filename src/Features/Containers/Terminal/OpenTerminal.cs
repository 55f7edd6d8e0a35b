using System.Net.WebSockets;
using System.Text.Json;
using Hive.Features.Containers.Runtime;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Errors;
using Hive.Shared.Limits;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Containers.Terminal;

/// <summary>
/// The operator opens a terminal in a running agent's sandbox (<c>GET /api/agents/{name}/terminal</c>, a WebSocket): a
/// shell started by the agent's own driver (<see cref="ProcessDriverBase.StartTerminalAsync"/>) on a <see cref="Pty"/>.
/// Binary frames carry bytes both ways; a text frame is a control message, <c>{"cols":N,"rows":N}</c> (a resize).
/// 404 for an unknown agent, 409 for one not running (or under a driver without terminals). The session ends, with
/// every process it started, when the page closes the socket, the shell exits, the agent stops, or the host does. Its
/// opening and closing are audited (who, which agent, why it ended); what is typed is not.
/// </summary>
public static class OpenTerminal
{
    private const ushort DefaultColumns = 80, DefaultRows = 24;

    /// <summary>How often the output loop looks up from the pty to see whether the session has ended meanwhile.</summary>
    private const int OutputPollMs = 250;

    internal sealed class Handler(
        AgentRegistry registry, AgentTurns turns, AgentProcesses processes, SecretStore secrets, IAuditLog audit, TimeProvider clock,
        IHostApplicationLifetime lifetime, ILogger<Handler> logger)
    {
        public async Task RunAsync(HttpContext context, string name)
        {
            name = AgentName.Checked(name);
            var record = registry.Find(name) ?? throw new NotFoundException($"no agent named {name}");
            if (!context.WebSockets.IsWebSocketRequest) throw new BadRequestException("a terminal is a WebSocket: open it from the terminal page");
            if (turns.Of(name).Running is not { Exited.IsCompleted: false } running)
                throw new ConflictException($"{name} is not running: start it to open a terminal in its sandbox");
            if (processes.DriverOf(record) is not ProcessDriverBase driver)
                throw new ConflictException($"{name} runs under the {record.Driver} driver, which has no terminal (the process and bubblewrap drivers do)");
            var spec = processes.SpecOf(record);
            spec = spec with { Env = secrets.ResolveFor(name, spec.Env, record.Secrets) };

            using var pty = Pty.Open(Size(context.Request.Query["cols"], DefaultColumns), Size(context.Request.Query["rows"], DefaultRows));
            TerminalProcess terminal;
            try
            {
                // Not cancelled by the request: a start already queued would otherwise happen with nobody to end it.
                terminal = await driver.StartTerminalAsync(spec, pty.SlavePath, CancellationToken.None);
            }
            catch (DriverException e)
            {
                throw new ConflictException(e.Message);
            }
            var who = context.Features.Get<OperatorClient>()?.Name ?? "sign-in off";
            string? reason = null;
            try
            {
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                reason = "the session failed";
                Record(name, "terminal opened", $"ok ({who})");
                logger.LogInformation("containers: terminal opened in {Agent} (pid {Pid})", name, terminal.Shell.Id);
                // A stop clears the agent's hold before it kills the cgroup, which may end the shell before Exited completes.
                reason = await PumpAsync(socket, pty, terminal, running, () => turns.Of(name).Running != running || running.Exited.IsCompleted);
            }
            finally
            {
                await terminal.EndAsync(); // done already, unless the socket never opened or the session failed
                if (reason is not null)
                {
                    Record(name, "terminal closed", $"{reason} ({who})");
                    logger.LogInformation("containers: terminal in {Agent} closed: {Reason}", name, reason);
                }
                terminal.Dispose();
            }
        }

        /// <summary>Runs the session until one side ends it, ends the shell's session and closes the socket; returns why, for the audit.</summary>
        private async Task<string> PumpAsync(WebSocket socket, Pty pty, TerminalProcess terminal, RunningAgent agent, Func<bool> agentEnded)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStopping);
            using var quitOutput = new CancellationTokenSource();
            // Blocking reads on a thread of its own; it looks up every OutputPollMs to see whether it should quit.
            var output = Task.Factory.StartNew(() => PumpOutput(socket, pty, quitOutput.Token), CancellationToken.None,
                TaskCreationOptions.LongRunning, TaskScheduler.Default);
            var input = PumpInputAsync(socket, pty, logger, stop.Token);
            var stopping = Task.Delay(Timeout.Infinite, stop.Token);
            var first = await Task.WhenAny(input, output, agent.Exited, stopping);
            var reason = first == input ? "the page closed"
                : first == agent.Exited || (first == output && agentEnded()) ? "the agent stopped"
                : first == output ? "the shell exited"
                : "the host stopped";
            // The shell and everything it started go first: the output loop then sees the pty's end (or is told to quit, if
            // something outside the terminal's session and cgroup still holds it).
            await terminal.EndAsync();
            quitOutput.Cancel();
            await output;
            await CloseAsync(socket, reason);
            try
            {
                await input.WaitAsync(TimeSpan.FromSeconds(5)); // the page's answering close frame
            }
            catch (TimeoutException)
            {
            }
            stop.Cancel();
            try { await input; }
            catch (OperationCanceledException) { }
            return reason;
        }

        private static void PumpOutput(WebSocket socket, Pty pty, CancellationToken ended)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    var n = pty.Read(buffer, OutputPollMs);
                    if (n == 0) return;
                    if (n < 0)
                    {
                        if (ended.IsCancellationRequested) return;
                        continue;
                    }
                    socket.SendAsync(buffer.AsMemory(0, n), WebSocketMessageType.Binary, true, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                }
            }
            catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException)
            {
                // The page went: the input loop says so.
            }
        }

        private static async Task PumpInputAsync(WebSocket socket, Pty pty, ILogger logger, CancellationToken ended)
        {
            var buffer = new byte[16 * 1024];
            try
            {
                while (true)
                {
                    var message = new MemoryStream();
                    ValueWebSocketReceiveResult received;
                    do
                    {
                        received = await socket.ReceiveAsync(buffer.AsMemory(), ended);
                        if (received.MessageType == WebSocketMessageType.Close) return;
                        if (message.Length + received.Count > 64 * 1024) return; // nothing typed or pasted is that long in one frame
                        message.Write(buffer, 0, received.Count);
                    } while (!received.EndOfMessage);
                    if (received.MessageType == WebSocketMessageType.Text) Control(pty, message.ToArray(), logger);
                    else if (!pty.Write(message.GetBuffer().AsSpan(0, (int)message.Length))) return;
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                // The page went without a close frame, or the session is over.
            }
        }

        /// <summary>A control message: <c>{"cols":N,"rows":N}</c> resizes; anything else is ignored.</summary>
        private static void Control(Pty pty, byte[] json, ILogger logger)
        {
            try
            {
                using var document = JsonDocument.Parse(json);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("cols", out var cols) && root.TryGetProperty("rows", out var rows)
                    && cols.TryGetUInt16(out var c) && rows.TryGetUInt16(out var r) && c is > 0 and <= 1000 && r is > 0 and <= 1000)
                {
                    pty.Resize(c, r);
                    logger.LogDebug("containers: terminal resized to {Columns}x{Rows}", c, r);
                }
            }
            catch (JsonException)
            {
            }
            catch (IOException e)
            {
                logger.LogWarning("containers: {Problem}", e.Message);
            }
        }

        private static async Task CloseAsync(WebSocket socket, string reason)
        {
            if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived)) return;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, reason, timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
        }

        private void Record(string agent, string action, string result) =>
            audit.Record(new AuditEntry(clock.GetUtcNow(), AgentNames.Operator, action, agent, result));

        private static ushort Size(string? value, ushort fallback) =>
            ushort.TryParse(value, out var size) && size is > 0 and <= 1000 ? size : fallback;
    }
}
