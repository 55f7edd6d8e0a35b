using System.Runtime.InteropServices;
using System.Text;

namespace Hive.Tests.Features.StateFiles;

/// <summary>`GET /api/state-file?path=` against a real tree of files, links, FIFOs and sockets.</summary>
[Collection(StateFilesHive.Name)]
public sealed partial class ReadStateFileTests(StateFilesHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;
    private readonly StateFileTree _tree = fixture.Tree;

    private static readonly UriCreationOptions Raw = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>Sends the query value exactly as given (already encoded), the way an attacker would.</summary>
    private async Task<(HttpStatusCode Status, string Body, string? ContentType)> GetRawAsync(string encodedPath)
    {
        var url = new Uri(_hive.BaseAddress + "api/state-file?path=" + EscapeForRequestLine(encodedPath), Raw);
        using var response = await _hive.Http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, body, response.Content.Headers.ContentType?.ToString());
    }

    private Task<(HttpStatusCode Status, string Body, string? ContentType)> GetAsync(string path) =>
        GetRawAsync(Uri.EscapeDataString(path));

    /// <summary>Only what cannot travel in a request line is escaped (spaces, controls, non-ASCII); '%' sequences stay as sent.</summary>
    internal static string EscapeForRequestLine(string raw)
    {
        var builder = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(raw))
        {
            if (b <= 0x20 || b >= 0x7f || b == '#' || b == '&' || b == '+') builder.Append('%').Append(b.ToString("X2"));
            else builder.Append((char)b);
        }
        return builder.ToString();
    }

    [Theory]
    [InlineData("/agents/alice/state/plan.md", "# the plan\nstep one", "text/markdown; charset=utf-8")]
    [InlineData("/agents/alice/state/notes/README", "readme without extension", "text/plain; charset=utf-8")]
    [InlineData("/agents/alice/state/Makefile", "all:\n\ttrue", "text/plain; charset=utf-8")]
    [InlineData("/agents/alice/state/x.md.bak", "x backup", "text/plain; charset=utf-8")]
    [InlineData("/agents/alice/state/ok-link", "# the plan\nstep one", "text/markdown; charset=utf-8")] // typed by the real file
    [InlineData("/agents/alice/state/ok-abs-link", "# the plan\nstep one", "text/markdown; charset=utf-8")]
    [InlineData("/agents/alice/state/ok-dir-link/README", "readme without extension", "text/plain; charset=utf-8")]
    [InlineData("/agents/alice/state/./notes//README", "readme without extension", "text/plain; charset=utf-8")]
    [InlineData("/shared/doc.md", "shared doc", "text/markdown; charset=utf-8")]
    [InlineData("/agents/alice/state/page.html", "<script>alert(1)</script>", "text/plain; charset=utf-8")]
    public async Task Serves_state_files_in_container_and_host_form(string containerPath, string content, string contentType)
    {
        foreach (var path in new[] { containerPath, _hive.DataDir + containerPath })
        {
            var (status, body, type) = await GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(content, body);
            Assert.Equal(contentType, type);
        }
    }

    [Fact]
    public async Task Served_files_cannot_be_sniffed_or_scripted()
    {
        using var response = await _hive.Http.GetAsync("/api/state-file?path=" + Uri.EscapeDataString("/agents/alice/state/page.html"));
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains("sandbox", response.Headers.GetValues("Content-Security-Policy").Single());
    }

    [Fact]
    public async Task Serves_exactly_1_MiB_and_refuses_one_byte_more_with_413()
    {
        var (ok, body, _) = await GetAsync("/agents/alice/state/exactly-1mib.bin");
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal(1024 * 1024, body.Length);
        var (tooLarge, problem, type) = await GetAsync("/agents/alice/state/over-1mib.bin");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge);
        Assert.StartsWith("application/problem+json", type);
        Assert.DoesNotContain("aaaa", problem);
    }

    public static TheoryData<string, HttpStatusCode> HostileContainerPaths => new()
    {
        // traversal, in every spelling the HTTP layer decodes (the value is sent raw)
        { "/agents/alice/state/../../../outside/secret.txt", HttpStatusCode.Forbidden },
        { "/agents/alice/state/%2e%2e/%2e%2e/%2e%2e/outside/secret.txt", HttpStatusCode.Forbidden },
        { "/agents/alice/state/%2E%2E%2F%2E%2E%2F%2E%2E%2Foutside%2Fsecret.txt", HttpStatusCode.Forbidden },
        { "/agents/alice/state/%252e%252e/%252e%252e/%252e%252e/outside/secret.txt", HttpStatusCode.NotFound },
        { "/agents/alice/state/%c0%ae%c0%ae/%c0%ae%c0%ae/outside/secret.txt", HttpStatusCode.NotFound },
        { "/agents/alice/state/%ef%bc%8e%ef%bc%8e/%ef%bc%8e%ef%bc%8e/outside/secret.txt", HttpStatusCode.NotFound }, // fullwidth dots
        { "/agents/alice/state/..%2f..%2f..%2foutside%2fsecret.txt", HttpStatusCode.Forbidden },
        { "/agents/alice/state/..\\..\\..\\outside\\secret.txt", HttpStatusCode.Forbidden },
        { "/agents/alice/state/%5c..%5c..%5coutside%5csecret.txt", HttpStatusCode.Forbidden },
        { "/agents/alice/state/plan.md%00.png", HttpStatusCode.BadRequest },
        { "/agents/alice/state/%00", HttpStatusCode.BadRequest },
        // symlinks out of the root, final file or parent dir, relative or absolute
        { "/agents/alice/state/esc-abs", HttpStatusCode.Forbidden },
        { "/agents/alice/state/esc-rel", HttpStatusCode.Forbidden },
        { "/agents/alice/state/esc-dir/secret.txt", HttpStatusCode.Forbidden },
        { "/agents/alice/state/esc-parent/private.txt", HttpStatusCode.Forbidden },
        { "/agents/alice/state/esc-root/etc/passwd", HttpStatusCode.Forbidden },
        { "/agents/alice/state/subdir/up", HttpStatusCode.Forbidden },
        { "/agents/alice/state/dangling", HttpStatusCode.Forbidden },
        { "/agents/alice/state/loop-a", HttpStatusCode.Forbidden },
        { "/agents/alice/state/self", HttpStatusCode.Forbidden },
        { "/agents/alice/state/dev-zero", HttpStatusCode.Forbidden },
        { "/agents/alice/state/proc-environ", HttpStatusCode.Forbidden },
        { "/agents/alice/state/proc-root", HttpStatusCode.Forbidden },
        { "/agents/carol/state/secret.txt", HttpStatusCode.Forbidden }, // the state dir itself is a link out
        // prefix confusion, other dirs of an agent, case variants, legacy and relative forms
        { "/agents/alice/state-evil/x.md", HttpStatusCode.Forbidden },
        { "/sharedx/doc.md", HttpStatusCode.Forbidden },
        { "/agents/alice/private.txt", HttpStatusCode.Forbidden },
        { "/agents/alice/state", HttpStatusCode.Forbidden },
        { "/Agents/alice/state/plan.md", HttpStatusCode.Forbidden },
        { "/agents/Alice/state/plan.md", HttpStatusCode.Forbidden },
        { "/agents/alice/STATE/plan.md", HttpStatusCode.Forbidden },
        { "/SHARED/doc.md", HttpStatusCode.Forbidden },
        { "/state/plan.md", HttpStatusCode.Forbidden },
        { "agents/alice/state/plan.md", HttpStatusCode.Forbidden },
        { "./agents/alice/state/plan.md", HttpStatusCode.Forbidden },
        { "~/agents/alice/state/plan.md", HttpStatusCode.Forbidden },
        { "/agents/../agents/alice/state/plan.md", HttpStatusCode.Forbidden },
        { "/agents/-x/state/plan.md", HttpStatusCode.Forbidden },
        { "/etc/passwd", HttpStatusCode.Forbidden },
        { "/proc/self/environ", HttpStatusCode.Forbidden },
        { "/dev/zero", HttpStatusCode.Forbidden },
        { "file:///etc/passwd", HttpStatusCode.Forbidden },
        // not regular files
        { "/agents/alice/state/subdir", HttpStatusCode.Forbidden },
        { "/agents/alice/state/fifo", HttpStatusCode.Forbidden },
        { "/agents/alice/state/sock", HttpStatusCode.Forbidden },
        // secrets, directly or through a link, any case
        { "/agents/alice/state/forge-token", HttpStatusCode.Forbidden },
        { "/agents/alice/state/FORGE-TOKEN", HttpStatusCode.Forbidden },
        { "/agents/alice/state/token-link", HttpStatusCode.Forbidden },
        { "/agents/alice/state/server.key", HttpStatusCode.Forbidden },
        { "/agents/alice/state/cert.PEM", HttpStatusCode.Forbidden },
        { "/agents/alice/state/id_rsa", HttpStatusCode.Forbidden },
        { "/agents/alice/state/id_ed25519.pub", HttpStatusCode.Forbidden },
        { "/agents/alice/state/.credentials.json", HttpStatusCode.Forbidden },
        // missing, empty, over-long
        { "/agents/alice/state/nope.md", HttpStatusCode.NotFound },
        { "", HttpStatusCode.BadRequest },
        { "/agents/alice/state/" + new string('a', 5000), HttpStatusCode.BadRequest },
    };

    [Theory]
    [MemberData(nameof(HostileContainerPaths))]
    public async Task Refuses_hostile_paths_in_container_form(string raw, HttpStatusCode expected) =>
        await AssertRefused(raw, expected);

    [Theory]
    [MemberData(nameof(HostileContainerPaths))]
    public async Task Refuses_hostile_paths_in_host_form(string raw, HttpStatusCode expected)
    {
        if (!raw.StartsWith('/')) return; // relative forms have no host form
        await AssertRefused(_hive.DataDir + raw, expected);
    }

    private async Task AssertRefused(string raw, HttpStatusCode expected)
    {
        // How fast a refusal comes is the scan bench's to measure (`-- scan`), not a test's: the machine is shared.
        var (status, body, type) = await GetRawAsync(raw);
        Assert.Equal(expected, status);
        Assert.StartsWith("application/problem+json", type);
        foreach (var marker in StateFileTree.ForbiddenMarkers) Assert.DoesNotContain(marker, body);
        Assert.DoesNotContain(_tree.Outside, body); // no resolved path is echoed
    }

    [Fact]
    public async Task Hard_links_to_secrets_or_outside_files_are_refused()
    {
        // A second name the deny-list cannot see, and a file from outside the roots linked in (same filesystem).
        string[] planted = [Path.Combine(_tree.Alice, "innocent.txt"), Path.Combine(_tree.Alice, "linked-in.txt")];
        try
        {
            Link(Path.Combine(_tree.Alice, "forge-token"), planted[0]);
            Link(Path.Combine(_tree.Outside, "secret.txt"), planted[1]);
            await AssertRefused("/agents/alice/state/innocent.txt", HttpStatusCode.Forbidden);
            await AssertRefused("/agents/alice/state/linked-in.txt", HttpStatusCode.Forbidden);
        }
        finally
        {
            foreach (var file in planted) File.Delete(file);
        }
    }

    [LibraryImport("libc", EntryPoint = "link", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkNative(string existing, string created);

    private static void Link(string existing, string created) => Assert.Equal(0, LinkNative(existing, created));

    [Fact]
    public async Task A_missing_or_repeated_path_parameter_is_a_400()
    {
        using var none = await _hive.Http.GetAsync("/api/state-file");
        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
        using var twice = await _hive.Http.GetAsync("/api/state-file?path=/shared/doc.md&path=/etc/passwd");
        Assert.Equal(HttpStatusCode.BadRequest, twice.StatusCode);
    }

    [Fact]
    public async Task There_is_no_probe_endpoint()
    {
        using var content = new StringContent("""{"paths":["/etc/passwd"]}""", Encoding.UTF8, "application/json");
        using var response = await _hive.Http.PostAsync("/api/state-file/check", content);
        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed);
    }

    public static TheoryData<string> Corpora => new(
        new[] { "traversals-8-deep-exotic-encoding.txt", "deep_traversal.txt", "directory_traversal.txt", "dotdotpwn.txt" });

    [Theory]
    [MemberData(nameof(Corpora))]
    public async Task Public_traversal_corpora_never_reach_a_file_outside(string corpus)
    {
        // A copy of ../shared/corpora/path-traversal (MIT, PayloadsAllTheThings), so a clone alone can run the suite.
        var file = Path.Combine(AppContext.BaseDirectory, "Features", "StateFiles", "Corpora", corpus);
        Assert.True(File.Exists(file), $"corpus {corpus} not found at {file}");
        var lines = File.ReadAllLines(file).Where(l => l.Length > 0).ToList();
        // dotdotpwn has 21 000 lines of one shape family; every 7th keeps its variety and the suite fast.
        if (lines.Count > 5000) lines = lines.Where((_, i) => i % 7 == 0).ToList();

        var prefixes = new[] { "/agents/alice/state/", _hive.DataDir + "/agents/alice/state/", "/shared/" };
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(lines.SelectMany(l => prefixes.Select(p => p + l.Replace("{FILE}", "etc/passwd"))),
            new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (raw, _) =>
            {
                var (status, body, _) = await GetRawAsync(raw);
                if ((int)status is < 400 or >= 500) failures.Add($"{(int)status} {raw}");
                else if (StateFileTree.ForbiddenMarkers.Any(body.Contains)) failures.Add($"leak {raw}");
            });
        Assert.Empty(failures);
    }

    [Fact]
    public async Task A_file_swapped_for_a_symlink_in_a_loop_never_leaks()
    {
        var target = Path.Combine(_tree.Alice, "swap.md");
        var staging = Path.Combine(_tree.Alice, "swap.staging");
        File.WriteAllText(target, "innocent");
        using var stop = new CancellationTokenSource();
        var swapper = Task.Run(() =>
        {
            var flip = false;
            while (!stop.IsCancellationRequested)
            {
                // Atomic replacement by rename, alternating a real file and a link out of the root.
                if (flip) File.WriteAllText(staging, "innocent");
                else File.CreateSymbolicLink(staging, Path.Combine(_tree.Outside, "secret.txt"));
                StateFileTree.Rename(staging, target);
                flip = !flip;
            }
        });
        var dirSwapper = Task.Run(() =>
        {
            // The parent directory too: a real dir inside the root and a link to the outside dir trade places
            // atomically, so a path that resolved to the real dir may be opened through the link.
            var dir = Path.Combine(_tree.Alice, "swapdir");
            var other = Path.Combine(_tree.Alice, "swapdir.other");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "secret.txt"), "innocent");
            Directory.CreateSymbolicLink(other, _tree.Outside);
            while (!stop.IsCancellationRequested) StateFileTree.Exchange(dir, other);
        });

        var seen = new Dictionary<HttpStatusCode, int>();
        try
        {
            for (var i = 0; i < 400; i++)
            {
                foreach (var path in new[] { "/agents/alice/state/swap.md", "/agents/alice/state/swapdir/secret.txt" })
                {
                    var (status, body, _) = await GetAsync(path);
                    Assert.DoesNotContain(StateFileTree.OutsideMarker, body);
                    Assert.True((int)status < 500, $"{status}: {body}");
                    seen[status] = seen.GetValueOrDefault(status) + 1;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(swapper, dirSwapper);
            // Leave the shared tree as it was: whichever of the pair is the link now goes, then the real dir.
            foreach (var entry in new[] { target, staging, Path.Combine(_tree.Alice, "swapdir"), Path.Combine(_tree.Alice, "swapdir.other") })
            {
                if (new FileInfo(entry).LinkTarget is not null || File.Exists(entry)) File.Delete(entry);
                else if (Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
            }
        }
        Assert.True(seen.GetValueOrDefault(HttpStatusCode.OK) > 0, "the race should sometimes find the innocent file");
    }
}
