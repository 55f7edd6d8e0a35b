using System.Net.Http.Json;
using System.Text.Json;
using Hive.Tests.Infrastructure;

namespace Hive.Tests.Features.StateFiles;

/// <summary>Every place a body is shown carries the refs the server vouches for, and nothing else.</summary>
public sealed class FileRefsOnTheWireTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;
    private StateFileTree _tree = null!;

    public async Task InitializeAsync()
    {
        _hive = await HiveInstance.StartAsync(["alice", "bob"]);
        _tree = new StateFileTree(_hive.DataDir);
    }

    public async Task DisposeAsync()
    {
        _tree.Dispose();
        await _hive.DisposeAsync();
    }

    private static string[] Refs(JsonElement message) =>
        message.GetProperty("file_refs").EnumerateArray().Select(r => r.GetString()!).ToArray();

    [Fact]
    public async Task Sent_and_delivered_events_carry_exactly_the_real_file()
    {
        await using var events = await _hive.OpenEventsAsync();
        await using var alice = await _hive.ConnectAsync("alice");
        await using var bob = await _hive.ConnectAsync("bob");
        const string body = "plan at /agents/alice/state/plan.md, secrets at /agents/alice/state/esc-rel and /agents/alice/state/../private.txt";

        var id = await alice.SendAsync("bob", body);
        var sent = await events.WaitForAsync("sent", e => e.GetProperty("id").GetInt64() == id);
        Assert.Equal(["/agents/alice/state/plan.md"], Refs(sent.Json));

        var received = await bob.RecvAsync();
        Assert.Equal(["/agents/alice/state/plan.md"], Refs(received!.Value));
        var delivered = await events.WaitForAsync("delivered", e => e.GetProperty("id").GetInt64() == id);
        Assert.Equal(["/agents/alice/state/plan.md"], Refs(delivered.Json));
    }

    [Fact]
    public async Task History_and_inbox_rows_compute_refs_per_row_at_read_time()
    {
        await using var alice = await _hive.ConnectAsync("alice");
        var id = await alice.SendAsync("operator", "new file /shared/later.md and /shared/doc.md");
        File.WriteAllText(Path.Combine(_tree.Shared, "later.md"), "appeared after sending");

        var inbox = await _hive.GetJsonAsync("/api/inbox");
        var row = inbox.EnumerateArray().Single(m => m.GetProperty("id").GetInt64() == id);
        Assert.Equal(["/shared/later.md", "/shared/doc.md"], Refs(row));
        var history = await _hive.GetJsonAsync($"/api/messages?before={id + 1}&limit=1");
        Assert.Equal(["/shared/later.md", "/shared/doc.md"], Refs(history.EnumerateArray().Single()));

        File.Delete(Path.Combine(_tree.Shared, "doc.md"));
        var after = await _hive.GetJsonAsync("/api/inbox");
        Assert.Equal(["/shared/later.md"], Refs(after.EnumerateArray().Single(m => m.GetProperty("id").GetInt64() == id)));
    }

    [Fact]
    public async Task Operator_messages_carry_refs_too()
    {
        using var response = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = "alice", body = "look at /agents/alice/state/x.md." });
        var message = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["/agents/alice/state/x.md"], Refs(message));
    }
}
