using System.Reflection;
using System.Text.Json.Nodes;

namespace Hive.Cli.Commands.Agent.Run.Acp;

/// <summary>
/// An ACP agent's process, kept between turns by <see cref="AcpTurns"/>: started (in a process group of its own) and
/// initialized within <paramref name="initTimeout"/>, its session opened with the hive's tools or the kept one loaded, a
/// prompt cancelled, the process stopped. Its requests and notifications go to the callbacks.
/// </summary>
/// <param name="systemPrompt">Text for the agent's system prompt, sent as the session's <c>_meta.systemPrompt.append</c> (what Claude's adapter reads); null: none.</param>
internal sealed class AcpAgent(string socketPath, string[] argv, TimeSpan initTimeout, string workDir, TextWriter log,
    Func<string, JsonNode?, CancellationToken, Task<JsonNode?>> onRequest, Action<string, JsonNode?> onNotification, string? systemPrompt = null)
{
    private CommandProcess? _process;
    private JsonRpcPeer? _peer;
    private bool _canLoad;

    /// <summary>The connection to the running agent (after <see cref="SessionAsync"/>).</summary>
    public JsonRpcPeer Peer => _peer ?? throw new JsonRpcFailure("the agent is not running");

    /// <summary>The session open in the running agent, if any.</summary>
    public string? Session { get; private set; }

    /// <summary>The model the agent said its session runs, if it did.</summary>
    public string? Model { get; private set; }

    private JsonObject WithMeta(JsonObject parameters)
    {
        if (systemPrompt is not null) parameters["_meta"] = new JsonObject { ["systemPrompt"] = new JsonObject { ["append"] = systemPrompt } };
        return parameters;
    }

    /// <summary>The session this turn runs in: the agent started and initialized if it is not running, its session opened once.</summary>
    public async Task<string> SessionAsync(Conversation conversation, TranscriptForwarder transcript)
    {
        if (_peer is null || _peer.Closed.IsCompleted)
        {
            await StopAsync();
            await StartAsync();
        }
        if (conversation.Clear) Session = null;
        if (Session is not null && (conversation.SessionId is null || conversation.SessionId == Session)) return Session;

        var servers = new JsonArray(HiveServer());
        if (conversation.SessionId is { } kept && _canLoad)
        {
            try
            {
                await _peer!.RequestAsync("session/load", WithMeta(new JsonObject { ["sessionId"] = kept, ["cwd"] = workDir, ["mcpServers"] = servers }), CancellationToken.None);
                transcript.Add([new TranscriptEntry("system", $"session {kept} loaded")]);
                return Session = kept;
            }
            catch (JsonRpcError e)
            {
                log.WriteLine($"hivectl run: the agent could not load session {kept} ({e.Message}): a new one");
                transcript.Forget(kept);
            }
        }
        var opened = await _peer!.RequestAsync("session/new", WithMeta(new JsonObject { ["cwd"] = workDir, ["mcpServers"] = servers.DeepClone() }), CancellationToken.None) as JsonObject;
        var id = opened is null ? null : AcpUpdates.Str(opened, "sessionId");
        if (id is not { Length: > 0 and <= 128 }) throw new JsonRpcFailure("session/new answered without a session id");
        Model = opened!["models"] is JsonObject models ? AcpUpdates.Str(models, "currentModelId") ?? Model : Model;
        transcript.Session(id);
        transcript.Add([new TranscriptEntry("system", $"session {id}{(Model is null ? "" : $", model {Model}")}")]);
        return Session = id;
    }

    private async Task StartAsync()
    {
        _process = CommandProcess.Start(argv, new Dictionary<string, string> { ["HIVE_SOCKET"] = socketPath });
        _peer = new JsonRpcPeer(_process.Process.StandardOutput.BaseStream, _process.Process.StandardInput.BaseStream, onRequest, onNotification);
        using var timeout = new CancellationTokenSource(initTimeout);
        JsonNode? answer;
        try
        {
            answer = await _peer.RequestAsync("initialize", new JsonObject
            {
                ["protocolVersion"] = 1,
                ["clientCapabilities"] = new JsonObject
                {
                    ["fs"] = new JsonObject { ["readTextFile"] = true, ["writeTextFile"] = true },
                    ["terminal"] = false,
                },
                ["clientInfo"] = new JsonObject { ["name"] = "hivectl", ["title"] = "Hive", ["version"] = Version },
            }, timeout.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the agent did not answer initialize within {initTimeout.TotalSeconds:0.#} s");
        }
        _canLoad = answer?["agentCapabilities"]?["loadSession"] is JsonValue load && load.TryGetValue<bool>(out var can) && can;
        Session = null;
    }

    /// <summary>session/cancel, then the agent stopped unless the prompt answers within <paramref name="grace"/>.</summary>
    public async Task CancelAsync(string session, Task<JsonNode?> prompt, TimeSpan grace)
    {
        try
        {
            if (_peer is { Closed.IsCompleted: false } peer) await peer.NotifyAsync("session/cancel", new JsonObject { ["sessionId"] = session });
        }
        catch (JsonRpcFailure)
        {
        }
        if (grace > TimeSpan.Zero && await Task.WhenAny(prompt, Task.Delay(grace)) == prompt) return;
        await StopAsync();
    }

    public async Task StopAsync()
    {
        if (_peer is not null) await _peer.DisposeAsync();
        _peer = null;
        if (_process is not null)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(2));
            _process.Dispose();
        }
        _process = null;
    }

    /// <summary>The hive's tools as an MCP server over stdio: this very hivectl, <c>mcp</c>, on the agent's socket.</summary>
    private JsonObject HiveServer()
    {
        var self = Environment.ProcessPath ?? "hivectl";
        var viaDotnet = Path.GetFileNameWithoutExtension(self) == "dotnet";
        var args = viaDotnet ? new JsonArray(Assembly.GetEntryAssembly()!.Location, "mcp") : new JsonArray("mcp");
        return new JsonObject
        {
            ["name"] = StreamJson.HiveServer, ["command"] = self, ["args"] = args,
            ["env"] = new JsonArray(new JsonObject { ["name"] = "HIVE_SOCKET", ["value"] = socketPath }),
        };
    }

    private static string Version => typeof(AcpTurns).Assembly.GetName().Version?.ToString() ?? "0";

}
