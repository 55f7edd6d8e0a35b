namespace Hive.Tests.Features.Reminders;

/// <summary>
/// A reminder body over a message's limit is not refused. It goes to <c>reminders/&lt;id&gt;.md</c> in the
/// agent's own state dir, and the delivered reminder carries its start and that path, linkified and readable through the
/// allow-list. The write never follows a link the agent planted.
/// </summary>
[Collection(RemindersHive.Name)]
public sealed class LongReminderTests(RemindersHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task A_3_KiB_reminder_is_delivered_as_its_start_and_a_readable_file()
    {
        var alice = await _hive.NewAgentAsync("alice");
        await using var client = await _hive.ConnectAsync(alice);
        var body = "Plan for the migration:\n" + string.Concat(Enumerable.Range(1, 125).Select(i => $"step {i:000} of the plan ✓\n"));
        Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(body), 3 * 1024, 4 * 1024);

        var id = await RemindersHive.RemindAsync(client, new { op = "remind", body, in_seconds = 0 });

        var path = $"/agents/{alice}/state/reminders/{id}.md";
        var file = Path.Combine(_hive.DataDir, "agents", alice, "state", "reminders", $"{id}.md");
        Assert.Equal(body, await File.ReadAllTextAsync(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var message = (await client.RecvAndAckAsync(10_000))!.Value;
        Assert.Equal("reminder", message.GetProperty("kind").GetString());
        Assert.StartsWith("Plan for the migration:\nstep 001", message.GetProperty("body").GetString());
        Assert.Contains(path, message.GetProperty("body").GetString());
        Assert.Contains(path, message.GetProperty("file_refs").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(path, message.GetProperty("payload_path").GetString());

        using var response = await _hive.Http.GetAsync("/api/state-file?path=" + Uri.EscapeDataString(path));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_link_planted_as_the_reminders_dir_is_not_written_through_and_nothing_is_stored()
    {
        var alice = await _hive.NewAgentAsync("alice");
        var elsewhere = Directory.CreateTempSubdirectory("hive-elsewhere-").FullName;
        try
        {
            File.CreateSymbolicLink(Path.Combine(_hive.DataDir, "agents", alice, "state", "reminders"), elsewhere);
            await using var client = await _hive.ConnectAsync(alice);

            var reply = await client.CallAsync(new { op = "remind", body = new string('x', 2000), in_seconds = 60 });

            Assert.False(reply.GetProperty("ok").GetBoolean());
            Assert.Equal("conflict", reply.GetProperty("code").GetString());
            Assert.Empty(Directory.EnumerateFileSystemEntries(elsewhere));
            Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE agent = @alice", new { alice }));
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    private static readonly string LongBody = string.Concat(Enumerable.Range(1, 100).Select(i => $"line {i:000} of a long plan\n"));

    private string BodyFile(string agent, long id) => Path.Combine(_hive.DataDir, "agents", agent, "state", "reminders", $"{id}.md");

    [Fact]
    public async Task Cancelling_a_long_reminder_removes_its_file_whoever_cancels_it()
    {
        var alice = await _hive.NewAgentAsync("alice");
        await using var client = await _hive.ConnectAsync(alice);
        var byAgent = await RemindersHive.RemindAsync(client, new { op = "remind", body = LongBody, in_seconds = 3600 });
        var byOperator = await RemindersHive.RemindAsync(client, new { op = "remind", body = LongBody, in_seconds = 3600 });
        Assert.True(File.Exists(BodyFile(alice, byAgent)) && File.Exists(BodyFile(alice, byOperator)));

        AgentClient.Ok(await client.CallAsync(new { op = "cancel_loose_end", kind = "reminder", id = byAgent }));
        using var cancelled = await _hive.Http.DeleteAsync($"/api/reminders/{byOperator}");
        Assert.Equal(HttpStatusCode.NoContent, cancelled.StatusCode);

        // The file goes once the cancel has committed, before the reply: nothing to wait for.
        Assert.False(File.Exists(BodyFile(alice, byAgent)));
        Assert.False(File.Exists(BodyFile(alice, byOperator)));
        Assert.True(Directory.Exists(Path.GetDirectoryName(BodyFile(alice, byAgent))));
    }

    [Fact]
    public async Task A_file_the_agent_named_itself_survives_the_cancel_of_its_reminder()
    {
        var alice = await _hive.NewAgentAsync("alice");
        await using var client = await _hive.ConnectAsync(alice);
        // The agent's own file, at the very name a long body would get: a short reminder names it as its payload.
        var next = _hive.QueryDb<long>("SELECT coalesce(max(seq), 0) + 1 FROM sqlite_sequence WHERE name = 'reminders'");
        Directory.CreateDirectory(Path.GetDirectoryName(BodyFile(alice, next))!);
        await File.WriteAllTextAsync(BodyFile(alice, next), "my own notes");
        var id = await RemindersHive.RemindAsync(client, new { op = "remind", body = "short", in_seconds = 3600, payload_path = $"/agents/{alice}/state/reminders/{next}.md" });
        Assert.Equal(next, id);

        AgentClient.Ok(await client.CallAsync(new { op = "cancel_loose_end", kind = "reminder", id }));

        Assert.Equal("my own notes", await File.ReadAllTextAsync(BodyFile(alice, next)));
    }

    [Fact]
    public async Task A_link_planted_as_the_reminders_dir_after_scheduling_is_not_deleted_through()
    {
        var alice = await _hive.NewAgentAsync("alice");
        await using var client = await _hive.ConnectAsync(alice);
        var id = await RemindersHive.RemindAsync(client, new { op = "remind", body = LongBody, in_seconds = 3600 });
        var reminders = Path.GetDirectoryName(BodyFile(alice, id))!;
        var elsewhere = Directory.CreateTempSubdirectory("hive-elsewhere-").FullName;
        try
        {
            // The agent moves its reminders dir away and puts a link to a directory holding a file of the same name.
            Directory.Move(reminders, reminders + ".moved");
            await File.WriteAllTextAsync(Path.Combine(elsewhere, $"{id}.md"), "not the agent's to delete");
            File.CreateSymbolicLink(reminders, elsewhere);

            AgentClient.Ok(await client.CallAsync(new { op = "cancel_loose_end", kind = "reminder", id }));

            Assert.Equal("not the agent's to delete", await File.ReadAllTextAsync(Path.Combine(elsewhere, $"{id}.md")));
            Assert.Equal(0, _hive.QueryDb<long>("SELECT count(*) FROM reminders WHERE id = @id", new { id }));
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }
}
