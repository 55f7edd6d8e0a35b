using Hive.Shared.Agents;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Features.Constellation;

/// <summary>
/// A send to another hive on the sending side alone (no broker listens: the relay just waits): the same validation and
/// idempotency as a local send, the outbox row in the send's own commit, the sender's allowed_recipients applied.
/// </summary>
public sealed class SendToHiveTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "hive-constsend-" + Guid.NewGuid().ToString("N")[..12]);

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        var credentials = Path.Combine(_root, "credentials");
        File.WriteAllText(credentials, "a:secret\n");
        File.SetUnixFileMode(credentials, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => TestDirectories.DeleteAsync(_root);

    private string[] Settings =>
        ["--Hive:Constellation:Name", "a", "--Hive:Constellation:Broker:Host", "127.0.0.1",
         "--Hive:Constellation:Broker:Port", HostProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
         "--Hive:Constellation:CredentialsFile", Path.Combine(_root, "credentials")];

    /// <summary>alice may reach bob@b and local agents, not carol@b.</summary>
    private sealed class NotCarol : IRecipientPolicy
    {
        public string? WhyNot(string from, string to) => to != "carol@b" ? null : $"{from} may not reach {to}: it is not among its allowed_recipients";
    }

    [Fact]
    public async Task A_remote_send_is_stored_with_its_outbox_row_and_follows_the_local_rules()
    {
        await using var hive = await HiveInstance.StartAsync(["alice", "bob"], Settings, services => services.AddSingleton<IRecipientPolicy, NotCarol>());
        await using var alice = await hive.ConnectAsync("alice");

        var first = AgentClient.Ok(await alice.CallAsync(new { op = "send", to = "bob@b", body = "hi", client_id = "k" })).GetProperty("id").GetInt64();
        var again = AgentClient.Ok(await alice.CallAsync(new { op = "send", to = "bob@b", body = "hi", client_id = "k" })).GetProperty("id").GetInt64();
        Assert.Equal(first, again);
        var rows = HiveInstance.QueryDbList<(long MessageId, string Destination, string Payload)>(hive.DataDir,
            "SELECT message_id, destination, payload FROM constellation_outbox");
        var row = Assert.Single(rows);
        Assert.Equal((first, "b"), (row.MessageId, row.Destination));
        Assert.Contains("\"from\":\"alice@a\"", row.Payload, StringComparison.Ordinal);

        Assert.Equal("forbidden", (await alice.CallAsync(new { op = "send", to = "carol@b", body = "hi" })).GetProperty("code").GetString());
        Assert.Equal("too_large", (await alice.CallAsync(new { op = "send", to = "bob@b", body = new string('x', 1025) })).GetProperty("code").GetString());
        Assert.Equal("not_found", (await alice.CallAsync(new { op = "send", to = "nobody@a", body = "hi" })).GetProperty("code").GetString());
        Assert.Single(HiveInstance.QueryDbList<long>(hive.DataDir, "SELECT id FROM constellation_outbox"));

        // bob@a is bob here: a local message, no outbox row.
        await using var bob = await hive.ConnectAsync("bob");
        await alice.SendAsync("bob@a", "local after all");
        var local = (await bob.RecvAndAckAsync(5000))!.Value;
        Assert.Equal(("alice", "bob"), (local.GetProperty("from").GetString(), local.GetProperty("to").GetString()));
        Assert.Single(HiveInstance.QueryDbList<long>(hive.DataDir, "SELECT id FROM constellation_outbox"));
    }
}
