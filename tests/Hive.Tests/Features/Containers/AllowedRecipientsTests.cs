using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// An agent configured with <c>allowed_recipients</c> may message and ask only those, the operator and
/// the manager; anything else is <c>forbidden</c> and stores nothing. Configured through <c>POST /api/agents</c> and the
/// meta file, shown on the row, kept across a restart. A hive of its own (it restarts it).
/// </summary>
public sealed class AllowedRecipientsTests : IAsyncLifetime
{
    private HiveInstance _hive = null!;

    public async Task InitializeAsync() => _hive = await HiveInstance.StartAsync(["bob", "carol"], "--Hive:Containers:Driver", "process");

    public async Task DisposeAsync() => await _hive.DisposeAsync();

    private long Messages => _hive.QueryDb<long>("SELECT count(*) FROM messages WHERE sender = 'gated'");
    private long Questions => _hive.QueryDb<long>("SELECT count(*) FROM questions WHERE asker = 'gated'");

    [Fact]
    public async Task Sends_and_asks_reach_only_the_allowed_the_operator_and_the_manager_even_after_a_restart()
    {
        var row = await CreateAsync(_hive.Http, new { name = "gated", driver = "external", allowed_recipients = new[] { "bob" } });
        Assert.Equal(["bob"], row.GetProperty("allowed_recipients").EnumerateArray().Select(r => r.GetString()));

        for (var life = 0; life < 2; life++)
        {
            await using var gated = await _hive.ConnectAsync("gated");
            foreach (var to in new[] { "bob", "operator", "manager" }) await gated.SendAsync(to, $"hello {to}");
            AgentClient.Ok(await gated.CallAsync(new { op = "ask", to = "bob", question = "ok?" }));
            var (messages, questions) = (Messages, Questions);

            var refused = await gated.CallAsync(new { op = "send", to = "carol", body = "psst" });
            Assert.Equal("forbidden", refused.GetProperty("code").GetString());
            Assert.Contains("allowed_recipients", refused.GetProperty("error").GetString());
            var asked = await gated.CallAsync(new { op = "ask", to = "carol", question = "psst?" });
            Assert.Equal("forbidden", asked.GetProperty("code").GetString());
            Assert.Equal((messages, questions), (Messages, Questions));

            // A broadcast is "everyone it may reach": bob and the manager, not carol.
            var broadcast = AgentClient.Ok(await gated.CallAsync(new { op = "send", to = "*", body = "all hands" })).GetProperty("broadcast_id").GetInt64();
            Assert.Equal(["bob", "manager"], _hive.QueryDbList<string>("SELECT recipient FROM messages WHERE broadcast_id = @broadcast ORDER BY recipient", new { broadcast }));

            await _hive.RestartAsync(); // the list comes back from the registry
        }

        // Others are not restricted by gated's list.
        await using var carol = await _hive.ConnectAsync("carol");
        await carol.SendAsync("gated", "hi gated");
    }

    [Fact]
    public async Task The_list_is_in_the_meta_file_and_bad_lists_are_refused()
    {
        var created = await CreateAsync(_hive.Http, Shell("worker", "process", "true"));
        Assert.Equal(JsonValueKind.Null, created.GetProperty("allowed_recipients").ValueKind); // anyone
        using (var response = await _hive.Http.PostAsJsonAsync("/api/agents",
                   new { name = "scoped", command = new[] { "/bin/sh", "-c", "exec sleep 1000" }, driver = "process", allowed_recipients = Array.Empty<string>() }))
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var file = await File.ReadAllTextAsync(Path.Combine(_hive.DataDir, "meta", "agents", "scoped.json"));
        Assert.Equal(0, JsonDocument.Parse(file).RootElement.GetProperty("allowed_recipients").GetArrayLength());
        await using (var scoped = await _hive.ConnectAsync("scoped"))
        {
            Assert.Equal("forbidden", (await scoped.CallAsync(new { op = "send", to = "bob", body = "hi" })).GetProperty("code").GetString());
            await scoped.SendAsync("operator", "only you");
        }

        using var bad = await _hive.Http.PostAsJsonAsync("/api/agents", new { name = "bad", driver = "external", allowed_recipients = new[] { "../etc" } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Null(await RowAsync(_hive, "bad"));
        await DestroyAsync(_hive, "worker");
        await DestroyAsync(_hive, "scoped");
    }
}
