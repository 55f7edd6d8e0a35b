using Hive.Features.StateFiles;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Features.StateFiles;

[Collection(StateFilesHive.Name)]
public sealed class FileRefScannerTests(StateFilesHive fixture) : SharedHiveTests(fixture)
{
    private readonly HiveInstance _hive = fixture.Hive;
    private readonly IFileRefScanner _scanner = fixture.Hive.Services.GetRequiredService<IFileRefScanner>();

    [Theory]
    [InlineData("see /agents/alice/state/plan.md.", "/agents/alice/state/plan.md")]
    [InlineData("(see /shared/doc.md)", "/shared/doc.md")]
    [InlineData("[/shared/doc.md]", "/shared/doc.md")]
    [InlineData("{/shared/doc.md},", "/shared/doc.md")]
    [InlineData("\"/shared/doc.md\"", "/shared/doc.md")]
    [InlineData("'/shared/doc.md';", "/shared/doc.md")]
    [InlineData("`/shared/doc.md`", "/shared/doc.md")]
    [InlineData("read /shared/doc.md: it matters", "/shared/doc.md")]
    [InlineData("end with /shared/doc.md", "/shared/doc.md")]
    [InlineData("/shared/doc.md", "/shared/doc.md")]
    [InlineData("path=/shared/doc.md", "/shared/doc.md")]
    [InlineData("line one\n/shared/doc.md\tand more", "/shared/doc.md")]
    public void Trailing_punctuation_is_not_part_of_the_token(string text, string expected) =>
        Assert.Equal([expected], _scanner.Scan(text));

    [Fact]
    public void Refs_are_distinct_in_order_of_first_appearance()
    {
        var text = "first /shared/doc.md then /agents/alice/state/plan.md and /shared/doc.md again, /agents/alice/state/plan.md.";
        Assert.Equal(["/shared/doc.md", "/agents/alice/state/plan.md"], _scanner.Scan(text));
    }

    [Fact]
    public void Extensionless_files_are_refs_and_directories_are_not()
    {
        var text = "/agents/alice/state/notes/README /agents/alice/state/Makefile /agents/alice/state/notes /agents/alice/state/notes/ /shared/";
        Assert.Equal(["/agents/alice/state/notes/README", "/agents/alice/state/Makefile"], _scanner.Scan(text));
    }

    [Fact]
    public void A_file_and_its_backup_are_both_refs()
    {
        Assert.Equal(["/agents/alice/state/x.md", "/agents/alice/state/x.md.bak"],
            _scanner.Scan("compare /agents/alice/state/x.md and /agents/alice/state/x.md.bak."));
    }

    [Fact]
    public void Secrets_escapes_and_missing_files_are_never_refs()
    {
        var text = string.Join(' ', "/agents/alice/state/forge-token", "/agents/alice/state/token-link", "/agents/alice/state/id_rsa",
            "/agents/alice/state/esc-abs", "/agents/alice/state/esc-rel", "/agents/alice/state/../private.txt", "/etc/passwd",
            "/agents/alice/state/nope.md", "/agents/alice/state/fifo", "/state/plan.md", "/agents/alice/private.txt",
            "/agents/alice/state/esc-dir/secret.txt", "/agents/carol/state/secret.txt");
        Assert.Empty(_scanner.Scan(text));
    }

    [Fact]
    public void Host_form_refs_are_recognised()
    {
        var path = _hive.DataDir + "/agents/alice/state/plan.md";
        Assert.Equal([path], _scanner.Scan($"host form: {path}."));
    }

    [Fact]
    public void A_path_glued_to_a_word_is_not_a_token()
    {
        Assert.Empty(_scanner.Scan("foo/shared/doc.md and http://x/shared/doc.md"));
    }

    [Fact]
    public void At_most_64_candidates_are_checked_per_text()
    {
        var noise = string.Join(' ', Enumerable.Range(0, 64).Select(i => $"/shared/missing-{i}.md"));
        Assert.Empty(_scanner.Scan(noise + " /shared/doc.md"));
        Assert.Equal(["/shared/doc.md"], _scanner.Scan(string.Join(' ', Enumerable.Range(0, 63).Select(i => $"/shared/missing-{i}.md")) + " /shared/doc.md"));
    }

    [Theory]
    [InlineData('/')]
    [InlineData('.')]
    [InlineData(' ')]
    public void Adversarial_100_KB_bodies_scan_to_the_right_answer(char filler)
    {
        var body = new string(filler, 100_000) + " /shared/doc.md";
        var refs = _scanner.Scan(body);
        Assert.True(refs.Count <= 1);
        if (filler == ' ') Assert.Equal(["/shared/doc.md"], refs);
        Assert.Empty(_scanner.Scan(string.Concat(Enumerable.Repeat("/agents/alice/state/../", 5000))));
    }
}
