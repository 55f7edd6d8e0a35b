using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Hive.Tests.Features.Containers;

/// <summary>
/// Meta inputs often sit where agents can write (<c>/shared</c>). A device (<c>/dev/zero</c> once took the host from 264 MiB
/// to 4.3 GiB), a FIFO (whose open never returned) or a socket is never read: it is refused at once, an input that became
/// one is an error of that input alone, and inside a directory it is skipped. Reading is bounded in bytes and time.
/// </summary>
public sealed class MetaInputSafetyTests(ContainersFixture fixture) : SharedHiveTests(fixture), IClassFixture<ContainersFixture>, IDisposable
{
    private readonly HiveInstance _hive = fixture.Hive;
    private readonly string _dir = Directory.CreateTempSubdirectory("hive-inputs-").FullName;

    /// <summary>
    /// Nothing here reads more than a few bytes; a hang or an endless read (a FIFO, /dev/zero) would take forever, and is
    /// failed by this generous bound on the request rather than by a bound on how long it took.
    /// </summary>
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Put_refuses_a_device_a_fifo_a_socket_or_a_link_as_a_source_at_once()
    {
        var fifo = MakeFifo(Path.Combine(_dir, "fifo"));
        var socketPath = Path.Combine(_dir, "socket");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        var link = Path.Combine(_dir, "link");
        File.CreateSymbolicLink(link, "/dev/zero");

        foreach (var (source, says) in new[] { ("/dev/zero", "character device"), (fifo, "FIFO"), (socketPath, "socket"), (link, "symbolic link") })
        {
            using var response = await PutAsync("refused", source).WaitAsync(Hang);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(says, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());
        }
        Assert.DoesNotContain((await _hive.GetJsonAsync("/api/meta")).GetProperty("inputs").EnumerateArray(), i => i.GetProperty("name").GetString() == "refused");
    }

    [Fact]
    public async Task An_input_that_became_a_fifo_or_a_link_to_dev_zero_is_an_error_of_its_own_found_quickly_and_the_others_still_update()
    {
        var good = Path.Combine(_dir, "good");
        Directory.CreateDirectory(good);
        await File.WriteAllTextAsync(Path.Combine(good, "prompt.md"), "one");
        var planted = Path.Combine(_dir, "planted.md");
        var zeroed = Path.Combine(_dir, "zeroed.md");
        foreach (var file in new[] { planted, zeroed }) await File.WriteAllTextAsync(file, "a file for now");
        foreach (var (name, source) in new[] { ("good", good), ("planted", planted), ("zeroed", zeroed) })
            using (var put = await PutAsync(name, source)) Assert.True(put.StatusCode == HttpStatusCode.OK, await put.Content.ReadAsStringAsync());
        // An input pointed at a device by hand in the meta repo (PUT refuses it) is read no more than a planted one.
        var inputs = Path.Combine(_hive.DataDir, "meta", "inputs.json");
        var edited = JsonSerializer.Deserialize<List<Dictionary<string, string?>>>(await File.ReadAllTextAsync(inputs))!;
        edited.Add(new() { ["name"] = "device", ["source"] = "/dev/zero", ["pin"] = null });
        await File.WriteAllTextAsync(inputs, JsonSerializer.Serialize(edited) + "\n");
        MetaGit.In(_hive.DataDir, "commit", "-q", "-am", "someone points an input at /dev/zero");

        // An agent with write access swaps the files: one for a FIFO nobody writes to, one for a link to /dev/zero.
        File.Delete(planted);
        MakeFifo(planted);
        File.Delete(zeroed);
        File.CreateSymbolicLink(zeroed, "/dev/zero");
        await File.WriteAllTextAsync(Path.Combine(good, "prompt.md"), "two");

        using var updated = await _hive.Http.PostAsync("/api/meta/update", null).WaitAsync(Hang);
        var result = JsonDocument.Parse(await updated.Content.ReadAsStringAsync()).RootElement;
        Assert.True(updated.StatusCode == HttpStatusCode.OK, result.ToString());
        var errors = result.GetProperty("errors").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!, e => e.GetProperty("error").GetString()!);
        Assert.Contains("is a FIFO", errors["planted"]);
        Assert.Contains("is a symbolic link", errors["zeroed"]);
        Assert.Contains("is a character device", errors["device"]);
        Assert.Contains("good", result.GetProperty("changed").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain("good", errors.Keys);
    }

    [Fact]
    public async Task Fifos_sockets_and_links_inside_an_input_directory_are_skipped_unread()
    {
        var tree = Path.Combine(_dir, "tree");
        Directory.CreateDirectory(Path.Combine(tree, "sub"));
        await File.WriteAllTextAsync(Path.Combine(tree, "sub", "a.md"), "content");
        using (var put = await PutAsync("tree", tree)) Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        MakeFifo(Path.Combine(tree, "sub", "b.fifo"));
        File.CreateSymbolicLink(Path.Combine(tree, "zero"), "/dev/zero");
        File.CreateSymbolicLink(Path.Combine(tree, "root"), "/");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(tree, "sub", "c.sock")));

        var skipped = await UpdateAsync().WaitAsync(Hang);
        Assert.DoesNotContain("tree", Names(skipped, "changed")); // nothing that holds bytes was added: the pin stands
        Assert.DoesNotContain("tree", Names(skipped, "errors"));

        await File.WriteAllTextAsync(Path.Combine(tree, "sub", "a.md"), "new content");
        Assert.Contains("tree", Names(await UpdateAsync(), "changed")); // the regular files are still what it is pinned by
    }

    [Fact]
    public async Task A_directory_is_pinned_as_before_over_its_files_relative_paths_in_ordinal_order()
    {
        // Names where a walk directory by directory and a sort of whole paths could disagree ('-' and '.' sort before '/').
        var tree = Path.Combine(_dir, "ordered");
        string[] files = ["a/b.md", "a-c.md", "a.d/e.md", "ab.md", "B.md", "z/y/x.md", "a/a-/q.md", "a/a/q.md"];
        foreach (var file in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(tree, file))!);
            await File.WriteAllTextAsync(Path.Combine(tree, file), "bytes of " + file);
        }
        // What the pin has been since inputs exist: SHA-256 over (relative path, NUL, bytes) in the ordinal order of the paths.
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            hash.AppendData(Encoding.UTF8.GetBytes(file + "\0"));
            hash.AppendData(Encoding.UTF8.GetBytes("bytes of " + file));
        }
        using (var put = await PutAsync("ordered", tree)) Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var pin = (await _hive.GetJsonAsync("/api/meta")).GetProperty("inputs").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "ordered");
        Assert.Equal("sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset()), pin.GetProperty("pin").GetString());
    }

    [Fact]
    public async Task An_input_beyond_the_byte_limit_or_the_time_limit_is_refused_and_not_read_to_its_end()
    {
        var big = Path.Combine(_dir, "big.bin");
        await File.WriteAllBytesAsync(big, new byte[1024 * 1024]);
        await using (var small = await HiveInstance.StartAsync([], "--Hive:Meta:MaxInputBytes", "65536"))
        {
            using var put = await small.Http.PutAsync("/api/meta/inputs/big", Json(big));
            Assert.Equal(HttpStatusCode.Conflict, put.StatusCode);
            Assert.Contains("more than 65536 bytes", await put.Content.ReadAsStringAsync());
        }
        var many = Path.Combine(_dir, "many");
        Directory.CreateDirectory(many);
        for (var i = 0; i < 2000; i++) await File.WriteAllTextAsync(Path.Combine(many, $"{i}.md"), "x");
        await using (var hurried = await HiveInstance.StartAsync([], "--Hive:Meta:InputTimeoutSeconds", "0.001"))
        {
            using var put = await hurried.Http.PutAsync("/api/meta/inputs/many", Json(many));
            Assert.Equal(HttpStatusCode.Conflict, put.StatusCode);
            Assert.Contains("was not read within", await put.Content.ReadAsStringAsync());
        }
    }

    private Task<HttpResponseMessage> PutAsync(string name, string source) => _hive.Http.PutAsync($"/api/meta/inputs/{name}", Json(source));

    private static StringContent Json(string source) => new(JsonSerializer.Serialize(new { source }), Encoding.UTF8, "application/json");

    private async Task<JsonElement> UpdateAsync()
    {
        using var response = await _hive.Http.PostAsync("/api/meta/update", null);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static IEnumerable<string?> Names(JsonElement result, string list) =>
        result.GetProperty(list).EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetProperty("name").GetString());

    private static string MakeFifo(string path)
    {
        using var mkfifo = Process.Start("mkfifo", [path])!;
        mkfifo.WaitForExit();
        Assert.Equal(0, mkfifo.ExitCode);
        return path;
    }

    void IDisposable.Dispose()
    {
        // This class's inputs go with their files, so a later update of this hive does not report them.
        var inputs = Path.Combine(_hive.DataDir, "meta", "inputs.json");
        var kept = JsonSerializer.Deserialize<List<JsonElement>>(File.ReadAllText(inputs))!
            .Where(i => !(i.GetProperty("source").GetString() is { } s && (s.StartsWith(_dir, StringComparison.Ordinal) || s.StartsWith("/dev/", StringComparison.Ordinal)))).ToList();
        File.WriteAllText(inputs, JsonSerializer.Serialize(kept) + "\n");
        try { MetaGit.In(_hive.DataDir, "commit", "-q", "-am", "test: drop this test's inputs"); } catch (InvalidOperationException) { } // nothing to drop
        Directory.Delete(_dir, recursive: true);
        base.Dispose();
    }
}
