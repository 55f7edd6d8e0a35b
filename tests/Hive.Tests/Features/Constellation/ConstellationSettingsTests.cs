namespace Hive.Tests.Features.Constellation;

/// <summary>With no constellation the hive is what it was; a bad setting stops the start with one line.</summary>
public sealed class ConstellationSettingsTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "hive-constcfg-" + Guid.NewGuid().ToString("N")[..12]);

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => TestDirectories.DeleteAsync(_root);

    [Fact]
    public async Task Without_a_constellation_an_address_with_at_names_no_agent()
    {
        await using var host = await HostProcess.StartAsync(Path.Combine(_root, "data"), ["alice", "bob"]);
        await using var alice = await host.ConnectAsync("alice");
        var reply = await alice.CallAsync(new { op = "send", to = "bob@b", body = "hello" });
        Assert.Equal("not_found", reply.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Refuses_a_credentials_file_others_can_read_without_echoing_it()
    {
        var credentials = Path.Combine(_root, "credentials");
        await File.WriteAllTextAsync(credentials, "a:hunter2-secret\n");
        File.SetUnixFileMode(credentials, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var (exitCode, output, errors) = await HostProcess.RunToExitWithErrorsAsync(TimeSpan.FromSeconds(60),
            [.. HiveInstance.ArgsFor(Path.Combine(_root, "data"), ["alice"]),
             "--Hive:Constellation:Name", "a", "--Hive:Constellation:Broker:Host", "127.0.0.1", "--Hive:Constellation:CredentialsFile", credentials]);
        Assert.Equal(1, exitCode);
        Assert.Contains("hive: Hive:Constellation:CredentialsFile", errors, StringComparison.Ordinal);
        Assert.Contains("readable by others", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hive_keeps_the_name_it_first_started_with()
    {
        var credentials = Path.Combine(_root, "credentials");
        await File.WriteAllTextAsync(credentials, "a:secret\n");
        File.SetUnixFileMode(credentials, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var data = Path.Combine(_root, "data");
        // No broker listens on that port: the hive starts all the same (mail waits in its outbox).
        string[] Settings(string name) =>
            ["--Hive:Constellation:Name", name, "--Hive:Constellation:Broker:Host", "127.0.0.1",
             "--Hive:Constellation:Broker:Port", HostProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--Hive:Constellation:CredentialsFile", credentials];
        await using (var first = await HostProcess.StartAsync(data, ["alice"], extraArgs: Settings("a")))
        {
            await using var alice = await first.ConnectAsync("alice");
            Assert.True(await alice.SendAsync("bob@b", "queued while no broker is there") > 0);
            await first.TerminateAsync(TimeSpan.FromSeconds(20));
        }

        var (exitCode, _, errors) = await HostProcess.RunToExitWithErrorsAsync(TimeSpan.FromSeconds(60),
            [.. HiveInstance.ArgsFor(data, ["alice"]), .. Settings("z")]);
        Assert.Equal(1, exitCode);
        Assert.Contains("hive: Hive:Constellation:Name is z but this data dir's hive is named a", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_tls_on_the_hive_opens_its_broker_connections_with_a_tls_handshake_and_refuses_a_ca_file_that_is_not_pem()
    {
        var credentials = Path.Combine(_root, "credentials");
        await File.WriteAllTextAsync(credentials, "a:secret\n");
        File.SetUnixFileMode(credentials, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        // A listener where the broker would be: what the hive sends first says whether it speaks TLS (a handshake record,
        // 0x16) or plain AMQP ("AMQP" and the protocol header).
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string[] settings = ["--Hive:Constellation:Name", "a", "--Hive:Constellation:Broker:Host", "127.0.0.1", "--Hive:Constellation:Broker:Port", port,
            "--Hive:Constellation:CredentialsFile", credentials, "--Hive:Constellation:Broker:Tls:Enabled", "true"];
        await using (var host = await HostProcess.StartAsync(Path.Combine(_root, "data"), ["alice"], extraArgs: settings))
        {
            using var accepted = await listener.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var first = new byte[3];
            await accepted.GetStream().ReadExactlyAsync(first).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(new byte[] { 0x16, 0x03 }, first[..2]); // a TLS record of type handshake, version 3.x
        }

        var notPem = Path.Combine(_root, "ca.pem");
        await File.WriteAllTextAsync(notPem, "not a certificate");
        var (exitCode, _, errors) = await HostProcess.RunToExitWithErrorsAsync(TimeSpan.FromSeconds(60),
            [.. HiveInstance.ArgsFor(Path.Combine(_root, "data2"), ["alice"]), .. settings, "--Hive:Constellation:Broker:Tls:CaFile", notPem]);
        Assert.Equal(1, exitCode);
        Assert.Contains($"hive: Hive:Constellation:Broker:Tls:CaFile {notPem} holds no PEM certificate", errors, StringComparison.Ordinal);
    }
}
