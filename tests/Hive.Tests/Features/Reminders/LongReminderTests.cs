using System.Net;
using System.Text.Json;
using Hive.Tests.Infrastructure;

namespace Hive.Tests.Features.Reminders;

/// <summary>
/// Issue 15 item 7: a reminder body over a message's limit is not refused. It goes to <c>reminders/&lt;id&gt;.md</c> in the
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
}
