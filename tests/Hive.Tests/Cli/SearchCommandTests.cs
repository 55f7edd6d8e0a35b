namespace Hive.Tests.Cli;

/// <summary><c>hivectl search</c> through the built hivectl against a real hive: words, <c>--agent</c>, <c>--kind</c>, <c>--limit</c>, <c>--json</c>.</summary>
public sealed class SearchCommandTests(CliFixture fixture) : SharedHiveTests(fixture), IClassFixture<CliFixture>
{
    private readonly HiveInstance _hive = fixture.Hive;

    [Fact]
    public async Task Search_finds_words_with_marked_hits_and_filters()
    {
        var (a, b) = (await _hive.NewAgentAsync("sa"), await _hive.NewAgentAsync("sb"));
        await using var alice = await _hive.ConnectAsync(a);
        var first = await alice.SendAsync(b, "the capybara report is late");
        var second = await alice.SendAsync("operator", "a capybara again, and a tapir");
        await HiveInstance.UntilAsync(async () => (await _hive.GetJsonAsync("/api/search?q=capybara")).GetProperty("results").GetArrayLength() == 2,
            TimeSpan.FromSeconds(30), "the index to read both sends");

        var text = (await fixture.OperatorAsync("search", "capybara", "tapir")).Ok().Stdout;
        Assert.Contains("SNIPPET", text);
        Assert.Contains("a [[capybara]] again, and a [[tapir]]", text);
        Assert.DoesNotContain("report", text);

        var json = (await fixture.OperatorAsync("search", "capybara", "--agent", b, "--kind", "message", "--json")).Ok().Json;
        var hit = Assert.Single(json.GetProperty("results").EnumerateArray());
        Assert.Equal(first, hit.GetProperty("ref").GetInt64());

        var paged = (await fixture.OperatorAsync("search", "capybara", "--limit", "1")).Ok().Stdout;
        Assert.Contains("more: --before", paged);
        Assert.Contains($"{second}", paged);

        var refused = (await fixture.OperatorAsync("search", "capybara", "--kind", "sandwich")).Refused("validation");
        Assert.Contains("kind must be one of", refused.Stderr);
    }
}
