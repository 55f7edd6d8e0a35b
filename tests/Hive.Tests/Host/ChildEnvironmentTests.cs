using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Hive.Shared.Processes;

namespace Hive.Tests.Host;

/// <summary>
/// Nothing the host runs inherits a secret of the host's environment. The real host runs as a child
/// process with the operator token (<c>Hive__Auth__Token</c>) and a canary in its environment, and a <c>git</c> first on its
/// <c>PATH</c> that records the argv and the environment it was started with, then runs the real git. After an agent is
/// created (a meta commit), an input pinned from a git repository (<c>git -C</c> there) and the meta repo pushed to a
/// forge, git has run through the wrapper for each, and no recorded argv or environment holds either value.
/// </summary>
public sealed class ChildEnvironmentTests
{
    private const string RealGit = "/usr/bin/git";

    [Fact]
    public async Task No_git_the_host_runs_holds_the_operator_token_or_any_other_variable_of_the_hosts_environment()
    {
        Assert.True(File.Exists(RealGit), $"this test wraps {RealGit}");
        var root = Directory.CreateTempSubdirectory("hive-childenv-").FullName;
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
        var canary = "canary-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var bin = Directory.CreateDirectory(Path.Combine(root, "bin")).FullName;
        var records = Directory.CreateDirectory(Path.Combine(root, "records")).FullName;
        var input = Path.Combine(root, "input");
        // One file per call: its argv, a separator, then its whole environment, written beside the records and moved in
        // whole (a call cut short when the host stops leaves no half-written record). The paths are baked in: the wrapper
        // is given no variable of ours (that is the point).
        var wrapper = Path.Combine(bin, "git");
        await File.WriteAllTextAsync(wrapper, $$"""
            #!/bin/sh
            record=$(mktemp '{{root}}/git-XXXXXXXX')
            { printf '%s\n' "$@"; echo '--- environment'; env; } > "$record"
            mv "$record" '{{records}}/'
            exec {{RealGit}} "$@"

            """.ReplaceLineEndings("\n"));
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        await using var forge = await FakeForgejo.StartAsync();
        try
        {
            await using (var host = await HostProcess.StartAsync(Path.Combine(root, "data"), [],
                             environment: new Dictionary<string, string>
                             {
                                 ["Hive__Auth__Token"] = token,
                                 ["HIVE_TEST_CANARY"] = canary,
                                 ["PATH"] = bin + ":" + (Environment.GetEnvironmentVariable("PATH") ?? ChildProcess.DefaultPath),
                             },
                             extraArgs:
                             [
                                 "--Hive:Forge:Url", forge.Url.ToString(), "--Hive:Forge:AdminUser", FakeForgejo.AdminUser,
                                 "--Hive:Forge:AdminPassword", forge.AdminPassword, "--Hive:Forge:TimeoutSeconds", "10",
                                 "--Hive:Containers:Driver", "process", "--Hive:Containers:StopGraceSeconds", "2",
                             ]))
            {
                // The host really holds both (so a leak would have something to leak).
                var hostEnv = ProcessTable.Environment(host.ProcessId)!;
                Assert.Equal(token, hostEnv["Hive__Auth__Token"]);
                Assert.Equal(canary, hostEnv["HIVE_TEST_CANARY"]);

                using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

                // An agent created: its file committed to the meta repo, which is then pushed to the forge.
                int pid;
                using (var created = await http.PostAsJsonAsync("/api/agents", new { name = "alice", command = new[] { "/bin/sleep", "600" }, driver = "process" }))
                {
                    var body = await created.Content.ReadAsStringAsync();
                    Assert.True(created.StatusCode == HttpStatusCode.Created, $"{(int)created.StatusCode}: {body}");
                    pid = JsonDocument.Parse(body).RootElement.GetProperty("pid").GetInt32();
                }
                await PushedAsync(http, forge);

                // An input pinned from a git repository: git -C <input> rev-parse HEAD, then another commit and push.
                var made = await ChildProcess.RunAsync(new ChildCommand(RealGit, ["init", "-q", input]));
                Assert.True(made.ExitCode == 0, made.Stderr);
                var commit = await ChildProcess.RunAsync(new ChildCommand(RealGit, ["-C", input, "commit", "-q", "--allow-empty", "-m", "tool"])
                {
                    Environment = new Dictionary<string, string>
                    {
                        ["GIT_CONFIG_NOSYSTEM"] = "1", ["GIT_CONFIG_GLOBAL"] = "/dev/null",
                        ["GIT_AUTHOR_NAME"] = "t", ["GIT_AUTHOR_EMAIL"] = "t@t.invalid", ["GIT_COMMITTER_NAME"] = "t", ["GIT_COMMITTER_EMAIL"] = "t@t.invalid",
                    },
                });
                Assert.True(commit.ExitCode == 0, commit.Stderr);
                using (var pinned = await http.PutAsJsonAsync("/api/meta/inputs/tool", new { source = input }))
                    Assert.True(pinned.StatusCode == HttpStatusCode.OK, await pinned.Content.ReadAsStringAsync());
                await PushedAsync(http, forge);

                // The agent destroyed (and its process gone, by its pid), before the host is.
                using (var destroyed = await http.DeleteAsync("/api/agents/alice"))
                    Assert.True(destroyed.IsSuccessStatusCode, await destroyed.Content.ReadAsStringAsync());
                await ProcessTable.UntilGoneAsync([pid]);
            }

            var calls = Directory.GetFiles(records).Select(File.ReadAllText).ToList();
            var argvs = calls.Select(c => c[..c.IndexOf("--- environment\n", StringComparison.Ordinal)].Split('\n', StringSplitOptions.RemoveEmptyEntries)).ToList();
            // git ran through the wrapper for the meta repo's commits, the input's pin and the pushes...
            Assert.Contains(argvs, a => a[0] == "commit");
            Assert.Contains(argvs, a => a[0] == "push");
            Assert.Contains(argvs, a => a is ["-C", _, "rev-parse", "HEAD"] && a[1] == input);
            // ...and not one call was given the token or the canary, in its environment or its argv.
            foreach (var call in calls)
            {
                Assert.DoesNotContain(token, call, StringComparison.Ordinal);
                Assert.DoesNotContain(canary, call, StringComparison.Ordinal);
                Assert.DoesNotContain("Hive__Auth__Token", call, StringComparison.Ordinal);
                Assert.DoesNotContain("HIVE_TEST_CANARY", call, StringComparison.Ordinal);
            }
        }
        finally
        {
            await TestDirectories.DeleteAsync(root);
        }
    }

    /// <summary>Waits until the forge's <c>core/meta</c> has the meta repo's newest commit on <c>main</c>.</summary>
    private static async Task PushedAsync(HttpClient http, FakeForgejo forge)
    {
        var meta = JsonDocument.Parse(await http.GetStringAsync("/api/meta")).RootElement;
        var commit = meta.GetProperty("log")[0].GetProperty("id").GetString()!;
        await HiveInstance.Until(() => forge.Log("core", "meta").FirstOrDefault()?.StartsWith(commit, StringComparison.Ordinal) == true,
            TimeSpan.FromSeconds(60), $"{commit} in the forge's core/meta");
    }
}
