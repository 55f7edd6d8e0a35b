using System.Diagnostics;
using System.Security.Cryptography;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// Claude Code with the hive's tools, under load (the smoke version of <c>bench -- claude-turns</c>): the real Claude Code from the
/// <c>claude-code</c> preset under bubblewrap, against <see cref="FakeMessagesApi"/>, while two CPU-burning child
/// processes keep the machine busy, woken three times one after another. No turn is recorded ok unless every model
/// request it made carried the hive's tools; a turn not recorded ok leaves its message unacknowledged, handed out again.
/// </summary>
public sealed class ClaudeCodeUnderLoadTests : IAsyncLifetime
{
    private const int Wakes = 3;
    private const int Burners = 2;

    /// <summary>Longer than the preset's MCP_TIMEOUT (120 s) and a loaded start: an ok turn is not handed out again while it runs.</summary>
    private const int AckTimeoutSeconds = 180;

    private readonly string _key = "sk-ant-api03-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
    private FakeMessagesApi _model = null!;
    private HiveInstance _hive = null!;

    public async Task InitializeAsync()
    {
        if (ClaudeCode.Path is not { } claude) return; // the test itself is skipped, saying why
        _model = await FakeMessagesApi.StartAsync(_key);
        _hive = await HiveInstance.StartAsync(["bob"], "--Hive:Presets:ClaudeCode:Path", claude,
            "--Hive:Messages:AckTimeoutSeconds", AckTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--Hive:Governance:LoopTurns", "0", // the loop rule pauses an agent woken quickly again and again, as this test does
            "--Hive:Gateway:Providers:anthropic:Upstream", _model.BaseUrl);
        using var saved = await _hive.Http.PutAsJsonAsync("/api/secrets/anthropic", new { value = _key });
        Assert.Equal(HttpStatusCode.Created, saved.StatusCode);
    }

    public async Task DisposeAsync()
    {
        if (_hive is not null) await _hive.DisposeAsync();
        if (_model is not null) await _model.DisposeAsync();
    }

    [ClaudeCodeFact]
    public async Task Under_load_no_turn_is_recorded_ok_without_the_hives_tools_and_a_failed_turns_message_comes_back()
    {
        var burners = new List<Process>();
        try
        {
            for (var i = 0; i < Burners; i++) burners.Add(Burner());
            await ContainersKit.CreateAsync(_hive.Http, new
            {
                name = "alice", preset = "claude-code", driver = "bubblewrap", purpose = "answer the operator",
            });

            long lastTurn = 0;
            var cursor = 0; // the model requests before it belong to turns already looked at
            var okTurns = 0;
            for (var wake = 1; wake <= Wakes; wake++)
            {
                long id;
                using (var sent = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = $"wake {wake}: say hello" }))
                {
                    Assert.Equal(HttpStatusCode.Created, sent.StatusCode);
                    id = (await sent.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();
                }
                // A failed turn's message comes back and is tried again: the wake ends with a turn recorded ok, or the
                // message set aside after its tries (MaxDeliveries), each failure having brought it back.
                for (var deliveries = 1; ; deliveries++)
                {
                    var turn = await NextTurnAsync(lastTurn);
                    lastTurn = turn.GetProperty("id").GetInt64();
                    var requests = _model.MessagesRequests.Where(r => r.Index >= cursor).ToList();
                    cursor = _model.Requests.Count;
                    var result = turn.GetProperty("result_kind").GetString();
                    if (result == "ok")
                    {
                        Assert.NotEmpty(requests);
                        foreach (var request in requests)
                            Assert.True(request.ToolNames.Any(t => t.StartsWith("mcp__hive__", StringComparison.Ordinal)),
                                $"turn {lastTurn} was recorded ok, but its model request {request} carried no tool of the hive: [{string.Join(", ", request.ToolNames)}]");
                        Assert.Equal(1, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE id = @id AND delivered_at IS NOT NULL", new { id }));
                        okTurns++;
                        break;
                    }
                    // Not ok: the message is not acknowledged, and comes back (handed out again) after the ack timeout.
                    Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE id = @id AND delivered_at IS NOT NULL", new { id }));
                    if (deliveries == 3) break; // it came back each time; three tries are enough to have seen it
                    await HiveInstance.Until(() => _hive.QueryDb<long>("SELECT delivery_count FROM messages WHERE id = @id", new { id }) > deliveries,
                        TimeSpan.FromSeconds(AckTimeoutSeconds * 3), $"message {id} to come back after turn {lastTurn} ({result}: {turn.GetProperty("note")})");
                }
            }
            // Two burners on this machine slow Claude Code's start; they are not meant to make every turn fail.
            Assert.True(okTurns > 0, "no turn was recorded ok under the load");
            await ContainersKit.DestroyAsync(_hive, "alice");
        }
        finally
        {
            foreach (var burner in burners)
            {
                if (!burner.HasExited) burner.Kill();
                await burner.WaitForExitAsync();
                burner.Dispose();
            }
        }
    }

    /// <summary>The first turn of alice recorded after <paramref name="after"/> (turn ids only grow).</summary>
    private async Task<JsonElement> NextTurnAsync(long after)
    {
        JsonElement found = default;
        await HiveInstance.Until(() =>
        {
            var reply = _hive.GetJsonAsync("/api/agents/alice/turns?limit=20").GetAwaiter().GetResult();
            var turns = reply.ValueKind == JsonValueKind.Array ? reply : reply.GetProperty("turns");
            var newer = turns.EnumerateArray().Where(t => t.GetProperty("id").GetInt64() > after).OrderBy(t => t.GetProperty("id").GetInt64()).ToList();
            if (newer.Count == 0) return false;
            found = newer[0].Clone();
            return true;
        }, TimeSpan.FromMinutes(10), "alice's next turn to be recorded");
        return found;
    }

    /// <summary>A child process that keeps one core busy (a shell's empty loop: no children of its own) until killed.</summary>
    private static Process Burner()
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("while :; do :; done");
        return Process.Start(info) ?? throw new InvalidOperationException("could not start a CPU burner");
    }
}
