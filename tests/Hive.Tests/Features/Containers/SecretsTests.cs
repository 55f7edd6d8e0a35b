using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Hive.Contracts.Agents;
using Hive.Contracts.Containers;
using Hive.Contracts.Json;
using Hive.Features.Containers;
using Hive.Tests.Cli;
using static Hive.Tests.Features.Containers.ContainersKit;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// The operator's secrets: set, listed by name and date, deleted; referenced by name in an agent's configuration and
/// given to it in its environment at start, and nowhere else — no file under the data dir but the secret's own, no log
/// line, event, <c>/api/state</c>, meta commit or approval diff holds the value (each searched for it).
/// </summary>
public sealed class SecretsTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    private static string NewValue() => "s3cret-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();

    private static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..20];

    private static async Task<(HttpStatusCode Status, string Body)> PutSecretAsync(HttpClient http, string name, string? value)
    {
        using var response = await http.PutAsJsonAsync($"/api/secrets/{name}", new { value });
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private string SecretFile(string name) => Path.Combine(_hive.DataDir, "secrets", name);

    [Fact]
    public async Task Set_list_and_delete_over_http_never_answer_a_value()
    {
        var (name, value, newer) = (NewName("api"), NewValue(), NewValue() + "\nline two");
        var (status, body) = await PutSecretAsync(_hive.Http, name, value);
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.DoesNotContain(value, body);
        var created = JsonDocument.Parse(body).RootElement;
        Assert.Equal(name, created.Deserialize<SecretView>(HiveJson.Options)!.Name);
        Assert.True(created.TryGetProperty("updated_at", out _)); // present: the raw JSON says so, a record would not

        // The store: a private dir, a private file holding the value as given (no temp file left).
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(SecretFile(name))!));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(SecretFile(name)));
        Assert.Equal(value, await File.ReadAllTextAsync(SecretFile(name)));

        (status, body) = await PutSecretAsync(_hive.Http, name, newer); // replaced: 200, newlines kept
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(newer, await File.ReadAllTextAsync(SecretFile(name)));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(SecretFile(name))!, ".*"));

        var listed = await _hive.Http.GetStringAsync("/api/secrets");
        Assert.DoesNotContain(value, listed);
        Assert.DoesNotContain("line two", listed);
        // The entry's exact fields: the raw JSON says so, a record would not.
        var entry = JsonDocument.Parse(listed).RootElement.EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);
        Assert.Equal(["name", "updated_at"], entry.EnumerateObject().Select(p => p.Name));

        var state = await _hive.Http.GetStringAsync("/api/state");
        Assert.Contains(name, state);
        Assert.DoesNotContain("line two", state);

        // The state-file route serves agents' state dirs and shared/ only.
        using (var stateFile = await _hive.Http.GetAsync($"/api/state-file?path={Uri.EscapeDataString(SecretFile(name))}"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, stateFile.StatusCode);
            Assert.DoesNotContain("line two", await stateFile.Content.ReadAsStringAsync());
        }

        using (var deleted = await _hive.Http.DeleteAsync($"/api/secrets/{name}"))
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.False(File.Exists(SecretFile(name)));
        using (var again = await _hive.Http.DeleteAsync($"/api/secrets/{name}"))
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.DoesNotContain(name, await _hive.Http.GetStringAsync("/api/secrets"));
    }

    [Fact]
    public async Task Bad_names_and_values_are_refused_without_quoting_the_value()
    {
        Assert.Equal(HttpStatusCode.BadRequest, (await PutSecretAsync(_hive.Http, "Upper", "x")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PutSecretAsync(_hive.Http, "a.b", "x")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PutSecretAsync(_hive.Http, new string('a', 65), "x")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PutSecretAsync(_hive.Http, "empty", "")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await PutSecretAsync(_hive.Http, "missing", null)).Status);
        var (status, body) = await PutSecretAsync(_hive.Http, "nul", "before\0after-" + NewValue());
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("NUL", body);
        Assert.DoesNotContain("after-", body);
        (status, _) = await PutSecretAsync(_hive.Http, "big", new string('x', SecretStore.MaxValueBytes + 1));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        using (var notJson = await _hive.Http.PutAsync("/api/secrets/plain", new StringContent("value", Encoding.UTF8, "text/plain")))
            Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.False(Directory.Exists(Path.Combine(_hive.DataDir, "secrets")) && Directory.GetFiles(Path.Combine(_hive.DataDir, "secrets"))
            .Any(f => Path.GetFileName(f) is "nul" or "big" or "empty" or "plain"));
    }

    [Fact]
    public async Task Hivectl_sets_from_stdin_lists_and_deletes()
    {
        var (name, value) = (NewName("cli"), NewValue());
        var set = await HivectlWithStdinAsync(["secrets", "set", name, "--json"], value + "\n");
        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.DoesNotContain(value, set.Stdout + set.Stderr);
        Assert.Equal(value, await File.ReadAllTextAsync(SecretFile(name))); // echo's newline dropped

        var list = await HivectlWithStdinAsync(["secrets", "list"], "");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(name, list.Stdout);
        Assert.DoesNotContain(value, list.Stdout);

        var empty = await HivectlWithStdinAsync(["secrets", "set", name], "");
        Assert.NotEqual(0, empty.ExitCode);
        Assert.Equal(value, await File.ReadAllTextAsync(SecretFile(name)));

        var delete = await HivectlWithStdinAsync(["secrets", "delete", name], "");
        Assert.True(delete.ExitCode == 0, delete.ToString());
        Assert.False(File.Exists(SecretFile(name)));
    }

    [Theory]
    [InlineData("process")]
    [InlineData("bubblewrap")]
    public async Task An_agent_gets_its_secret_in_its_environment_and_the_value_is_nowhere_else(string driver)
    {
        var (secret, value, name) = (NewName("key"), "sk-ant-api03-" + NewValue(), NewName("sec")[..12]);
        await using var events = await _hive.OpenEventsAsync();
        Assert.Equal(HttpStatusCode.Created, (await PutSecretAsync(_hive.Http, secret, value)).Status);
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(value))).ToLowerInvariant();
        // The agent compares, and writes only the verdict: the value itself must not land in a file under the data dir.
        var script = $"""
            if [ "$(printf %s "$ANTHROPIC_API_KEY" | sha256sum | cut -d' ' -f1)" = "{hash}" ]; then echo match > secret-check; else echo mismatch > secret-check; fi
            """;
        try
        {
            var row = await CreateAsync(_hive.Http, new
            {
                name, command = new[] { "/bin/sh", "-c", script + "\nexec sleep 1000" }, driver,
                secrets = new Dictionary<string, string> { ["ANTHROPIC_API_KEY"] = secret },
            });
            Assert.Equal(secret, row.GetProperty("secrets").GetProperty("ANTHROPIC_API_KEY").GetString());
            var check = Path.Combine(_hive.DataDir, "agents", name, "state", "secret-check");
            await HiveInstance.Until(() => File.Exists(check) && File.ReadAllText(check).Length > 0, what: "the agent's verdict");
            Assert.Equal("match", File.ReadAllText(check).Trim());

            // A proposal that keeps the reference: the approval and its diff name the secret, never the value.
            await using (var manager = await _hive.ConnectAsync("manager"))
            {
                var id = (await manager.CallAsync(ManagerVerbs.ProposeConfig, new ProposeConfigArgs(name, new AgentConfig(
                    ["/bin/sh", "-c", script + "\nexec sleep 1001"], driver, null, null, null, null,
                    Secrets: new Dictionary<string, string> { ["OTHER_KEY"] = secret })))).ApprovalId;
                var approval = (await ApprovalsAsync(_hive, all: true)).Single(a => a.Id == id);
                var diff = approval.ToString();
                // A proposal's payload has no record: its diff is read from the raw JSON.
                Assert.Contains($"\"OTHER_KEY\": \"{secret}\"", approval.Payload.GetProperty("diff").GetString());
                Assert.DoesNotContain(value, diff);
                using (var denied = await _hive.Http.PostAsync($"/api/approvals/{id}/deny", null)) Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
            }

            // A marker event: everything the stream carried up to it is searched.
            var marker = NewName("marker");
            Assert.Equal(HttpStatusCode.Created, (await PutSecretAsync(_hive.Http, marker, NewValue())).Status);
            var seen = new StringBuilder();
            while (true)
            {
                var e = await events.NextAsync() ?? throw new InvalidOperationException("the event stream ended");
                seen.Append(e.Data).Append('\n');
                if (e.Type == "secrets_changed" && e.Data.Contains(marker)) break;
            }
            Assert.Contains(name, seen.ToString());
            AssertNowhereButItsFile(value, secret, seen.ToString(), await _hive.Http.GetStringAsync("/api/state"),
                await _hive.Http.GetStringAsync("/api/agents"), await _hive.Http.GetStringAsync("/api/approvals?status=all"));
            using (var deleted = await _hive.Http.DeleteAsync($"/api/secrets/{marker}")) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        finally
        {
            await DestroyAsync(_hive, name);
            using var _ = await _hive.Http.DeleteAsync($"/api/secrets/{secret}");
        }
    }

    [Fact]
    public async Task A_missing_secret_refuses_the_create_and_a_deleted_one_the_next_start_naming_it()
    {
        var (secret, name) = (NewName("gone"), NewName("miss")[..12]);
        var (status, problem) = await PostAsync(_hive.Http, "/api/agents", new
        {
            name, command = new[] { "/bin/sleep", "1000" }, driver = "process", secrets = new Dictionary<string, string> { ["API_KEY"] = secret },
        });
        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Contains(secret, Problem.Of(problem).Detail);
        Assert.Null(await RowAsync(_hive, name));

        Assert.Equal(HttpStatusCode.Created, (await PutSecretAsync(_hive.Http, secret, NewValue())).Status);
        try
        {
            await CreateAsync(_hive.Http, new
            {
                name, command = new[] { "/bin/sleep", "1000" }, driver = "process", secrets = new Dictionary<string, string> { ["API_KEY"] = secret },
            });
            using (var deleted = await _hive.Http.DeleteAsync($"/api/secrets/{secret}")) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
            Assert.Equal("running", (await RowAsync(_hive, name))!.Value.State()); // it keeps what it was started with

            (status, problem) = await PostAsync(_hive.Http, $"/api/agents/{name}/restart");
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Contains($"secret {secret}", Problem.Of(problem).Detail);
            var row = (await RowAsync(_hive, name))!.Value;
            Assert.Equal("failed", row.State());
            Assert.Contains(secret, row.GetProperty("config_error").GetString());

            // Set again, it starts, and the row's error is gone.
            Assert.Equal(HttpStatusCode.Created, (await PutSecretAsync(_hive.Http, secret, NewValue())).Status);
            (status, _) = await PostAsync(_hive.Http, $"/api/agents/{name}/start");
            Assert.Equal(HttpStatusCode.OK, status);
            row = (await RowAsync(_hive, name))!.Value;
            Assert.Equal("running", row.State());
            Assert.Equal(JsonValueKind.Null, row.GetProperty("config_error").ValueKind);
        }
        finally
        {
            await DestroyAsync(_hive, name);
            using var _ = await _hive.Http.DeleteAsync($"/api/secrets/{secret}");
        }
    }

    [Theory]
    [InlineData("sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD")]
    [InlineData("ghp_abcdefghijklmnopqrstuvwxyz0123456789")]
    [InlineData("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz")]
    [InlineData("xoxb-1234567890-abcdefghij")]
    [InlineData("AKIAIOSFODNN7EXAMPLE")]
    [InlineData("Bearer gho_abcdefghijklmnopqrstuvwxyz0123456789")]
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----")]
    // In upper case, and in base64 (standard, URL-safe unpadded, after "Basic ", twice over, glued to a letter, a whole PEM).
    [InlineData("SK-ANT-API03-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("GHP_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")]
    [InlineData("c2stYW50LWFwaTAzLWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1")]
    [InlineData("Z2hwX2FiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1Njc4OQ")]
    [InlineData("Basic dXNlcjpzay1wcm9qLWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1Njc4OUFCQ0Q=")]
    [InlineData("YzJzdFlXNTBMV0Z3YVRBekxXRmlZMlJsWm1kb2FXcHJiRzF1YjNCeGNuTjBkWFozZUhsNk1ERXlNelEx")]
    [InlineData("xQU5USFJPUElDX0FQSV9LRVk9c2stYW50LWFwaTAzLWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6MDEyMzQ1")]
    [InlineData("LS0tLS1CRUdJTiBPUEVOU1NIIFBSSVZBVEUgS0VZLS0tLS0KYjNCbGJuTnphQzFyWlhrdGRqRUFBQUFBCi0tLS0tRU5EIE9QRU5TU0ggUFJJVkFURSBLRVktLS0tLQo=")]
    public async Task A_key_like_value_in_env_or_the_command_is_refused_with_a_pointer_to_secrets(string key)
    {
        var name = NewName("kl")[..12];
        foreach (var body in new object[]
        {
            new { name, command = new[] { "/bin/sleep", "1000" }, driver = "process", env = new Dictionary<string, string> { ["TOKEN"] = key } },
            new { name, command = new[] { "/bin/sh", "-c", $"KEY='{key}' exec sleep 1000" }, driver = "process" },
            new { name, command = new[] { "/bin/sleep", "1000" }, driver = "process", secrets = new Dictionary<string, string> { ["TOKEN"] = key } },
        })
        {
            var (status, problem) = await PostAsync(_hive.Http, "/api/agents", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("secret", problem.ToString());
            Assert.DoesNotContain(key.Split('\n')[0][8..], problem.ToString());
            Assert.Null(await RowAsync(_hive, name));
        }
        Assert.DoesNotContain(_hive.Logs.Lines, l => l.Text.Contains(key.Split('\n')[0][8..], StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ordinary_values_that_share_a_prefix_are_not_taken_for_keys()
    {
        var name = NewName("ok")[..12];
        try
        {
            await CreateAsync(_hive.Http, new
            {
                name, command = new[] { "/bin/sleep", "1000" }, driver = "process",
                env = new Dictionary<string, string>
                {
                    ["MODEL"] = "sk-learn", ["BRANCH"] = "ghp_short", ["SLACK"] = "xoxb", ["AWS_REGION"] = "AKIA",
                    ["TOOL"] = "SK-LEARN", ["GREETING"] = "aGVsbG8gd29ybGQsIHRoaXMgaXMgYW4gb3JkaW5hcnkgdmFsdWU=", ["PLACE"] = "asiapacificregionxyz"
                },
            });
        }
        finally
        {
            await DestroyAsync(_hive, name);
        }
    }

    [Fact]
    public async Task A_secret_missing_at_the_hosts_start_marks_the_row_failed_naming_it()
    {
        // Its own hive: the test restarts it.
        await using var hive = await HiveInstance.StartAsync([]);
        var (secret, name) = (NewName("boot"), NewName("boot")[..12]);
        Assert.Equal(HttpStatusCode.Created, (await PutSecretAsync(hive.Http, secret, NewValue())).Status);
        await CreateAsync(hive.Http, new
        {
            name, command = new[] { "/bin/sleep", "1000" }, driver = "process", secrets = new Dictionary<string, string> { ["API_KEY"] = secret },
        });
        using (var deleted = await hive.Http.DeleteAsync($"/api/secrets/{secret}")) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await hive.RestartAsync();
        await hive.Service<AgentsStartUp>().Reconciled;
        var row = (await RowAsync(hive, name))!.Value;
        Assert.Equal("failed", row.State());
        Assert.Contains(secret, row.GetProperty("config_error").GetString());
        Assert.Contains(hive.Logs.Lines, l => l.Text.Contains($"secret {secret}", StringComparison.Ordinal));
    }

    /// <summary>The value is in no file under the data dir but the secret's own, no log line, none of the texts, no meta commit.</summary>
    private void AssertNowhereButItsFile(string value, string secret, params string[] texts)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        var own = SecretFile(secret);
        var carrying = Directory.EnumerateFiles(_hive.DataDir, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false })
            .Where(f => f != own && new FileInfo(f).LinkTarget is null && (new FileInfo(f).Attributes & FileAttributes.Device) == 0)
            .Where(f => !f.EndsWith(".sock", StringComparison.Ordinal) && Contains(ReadLocked(f), bytes))
            .ToList();
        Assert.True(carrying.Count == 0, $"the secret's value is in {string.Join(", ", carrying)}");
        Assert.DoesNotContain(_hive.Logs.Lines, l => l.Text.Contains(value, StringComparison.Ordinal));
        Assert.All(texts, t => Assert.DoesNotContain(value, t));
        var git = Process.Start(new ProcessStartInfo("git", ["-C", Path.Combine(_hive.DataDir, "meta"), "log", "-p", "--all"])
        {
            RedirectStandardOutput = true, UseShellExecute = false, Environment = { ["GIT_CONFIG_GLOBAL"] = "/dev/null", ["GIT_CONFIG_NOSYSTEM"] = "1" },
        })!;
        var log = git.StandardOutput.ReadToEnd();
        git.WaitForExit();
        Assert.Contains($"\"ANTHROPIC_API_KEY\": \"{secret}\"", log);
        Assert.DoesNotContain(value, log);
    }

    /// <summary>A file's bytes; one the host holds locked (<c>hive.lock</c>: .NET's emulated share modes refuse the open) read by cat.</summary>
    private static byte[] ReadLocked(string file)
    {
        try
        {
            return File.ReadAllBytes(file);
        }
        catch (IOException)
        {
            using var cat = Process.Start(new ProcessStartInfo("/bin/cat", [file]) { RedirectStandardOutput = true, UseShellExecute = false })!;
            using var bytes = new MemoryStream();
            cat.StandardOutput.BaseStream.CopyTo(bytes);
            cat.WaitForExit();
            Assert.Equal(0, cat.ExitCode);
            return bytes.ToArray();
        }
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;

    /// <summary>The built hivectl as the operator, with <paramref name="stdin"/> piped in (the value never on its command line).</summary>
    private async Task<HivectlResult> HivectlWithStdinAsync(string[] args, string stdin)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(), StandardOutputEncoding = Encoding.UTF8, StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in (string[])[Hivectl.Dll, "--url", _hive.BaseAddress.ToString(), "--token", _hive.Token!, .. args]) info.ArgumentList.Add(arg);
        foreach (var variable in new[] { "HIVE_SOCKET", "HIVE_URL", "HIVE_TOKEN" }) info.Environment.Remove(variable);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardInput.BaseStream.WriteAsync(new UTF8Encoding(false).GetBytes(stdin));
        process.StandardInput.Close();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new HivectlResult(process.ExitCode, await stdout, await stderr);
    }
}
