namespace Hive.Tests.Features.StateFiles;

/// <summary>
/// Every place a body is shown carries the refs the server vouches for, and nothing else. (Cross-cutting: the scanner
/// of StateFiles seen through the Messages slices.) The bodies name the planted tree's files; the messages travel
/// between agents of each test's own.
/// </summary>
[Collection(StateFilesHive.Name)]
public sealed class FileRefsOnTheWireTests(StateFilesHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    private static string[] Refs(JsonElement message) =>
        message.GetProperty("file_refs").EnumerateArray().Select(r => r.GetString()!).ToArray();

    [Fact]
    public async Task Sent_and_delivered_events_carry_exactly_the_real_file()
    {
        var names = await _hive.NewAgentsAsync("sender", "reader");
        await using var events = await _hive.OpenEventsAsync();
        await using var sender = await _hive.ConnectAsync(names[0]);
        await using var reader = await _hive.ConnectAsync(names[1]);
        const string body = "plan at /agents/alice/state/plan.md, secrets at /agents/alice/state/esc-rel and /agents/alice/state/../private.txt";

        var id = await sender.SendAsync(names[1], body);
        var sent = await events.WaitForAsync("sent", e => e.GetProperty("id").GetInt64() == id);
        Assert.Equal(["/agents/alice/state/plan.md"], Refs(sent.Json));

        // The reader is not alice: its own copy names no file of hers (see the test below); the operator's views do.
        var received = await reader.RecvAndAckAsync();
        Assert.Empty(Refs(received!.Value));
        var delivered = await events.WaitForAsync("delivered", e => e.GetProperty("id").GetInt64() == id);
        Assert.Equal(["/agents/alice/state/plan.md"], Refs(delivered.Json));
    }

    [Fact]
    public async Task History_and_inbox_rows_compute_refs_per_row_at_read_time()
    {
        var name = await _hive.NewAgentAsync("sender");
        // Files of this test's own in shared/: one that appears after the send, one that goes.
        var (later, doc) = ($"/shared/{name}-later.md", $"/shared/{name}-doc.md");
        File.WriteAllText(_hive.DataDir + doc, "shared doc");
        try
        {
            await using var sender = await _hive.ConnectAsync(name);
            var id = await sender.SendAsync("operator", $"new file {later} and {doc}");
            File.WriteAllText(_hive.DataDir + later, "appeared after sending");

            var inbox = await _hive.GetJsonAsync("/api/inbox");
            var row = inbox.EnumerateArray().Single(m => m.GetProperty("id").GetInt64() == id);
            Assert.Equal([later, doc], Refs(row));
            var history = await _hive.GetJsonAsync($"/api/messages?before={id + 1}&limit=1");
            Assert.Equal([later, doc], Refs(history.EnumerateArray().Single()));

            File.Delete(_hive.DataDir + doc);
            var after = await _hive.GetJsonAsync("/api/inbox");
            Assert.Equal([later], Refs(after.EnumerateArray().Single(m => m.GetProperty("id").GetInt64() == id)));
        }
        finally
        {
            File.Delete(_hive.DataDir + later);
            File.Delete(_hive.DataDir + doc);
        }
    }

    [Fact]
    public async Task Operator_messages_carry_refs_too()
    {
        var name = await _hive.NewAgentAsync("reader");
        using var response = await _hive.Http.PostAsJsonAsync("/api/messages", new { to = name, body = "look at /agents/alice/state/x.md." });
        var message = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["/agents/alice/state/x.md"], Refs(message));
    }

    [Fact]
    public async Task An_agent_receives_refs_only_to_files_it_could_read_itself()
    {
        var names = await _hive.NewAgentsAsync("prober", "neighbour");
        var (prober, neighbour) = (names[0], names[1]);
        string Host(string path) => _hive.DataDir + path;
        var (own, shared, theirs, link) = ($"/agents/{prober}/state/own.md", $"/shared/{prober}-doc.md",
            $"/agents/{neighbour}/state/secret.md", $"/agents/{prober}/state/peek.md");
        File.WriteAllText(Host(own), "mine");
        File.WriteAllText(Host(shared), "everyone's");
        File.WriteAllText(Host(theirs), "the neighbour's");
        File.CreateSymbolicLink(Host(link), Host(theirs)); // a link in its own dir to the neighbour's file
        try
        {
            await using var client = await _hive.ConnectAsync(prober);
            // An agent asking "does this file of another agent exist?" by messaging itself.
            var id = await client.SendAsync(prober, $"{own} {shared} {theirs} {link} /agents/{neighbour}/state/missing.md");

            var received = await client.RecvAndAckAsync();
            Assert.Equal([own, shared], Refs(received!.Value));
            // The operator sees every file there is (a link out of its own dir is no file of the prober's either).
            var history = await _hive.GetJsonAsync($"/api/messages?before={id + 1}&limit=1");
            Assert.Equal([own, shared, theirs], Refs(history.EnumerateArray().Single()));
        }
        finally
        {
            File.Delete(Host(shared));
        }
    }
}
