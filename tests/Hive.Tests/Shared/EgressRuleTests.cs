using System.Net;
using Hive.Shared.Egress;

namespace Hive.Tests.Shared;

/// <summary>The egress rule grammar, as agents' configurations and the proxy's targets are read with it.</summary>
public sealed class EgressRuleTests
{
    [Theory]
    [InlineData("github.com", "github.com:443")]
    [InlineData("GitHub.COM.:8443", "github.com:8443")]
    [InlineData("*.githubusercontent.com:443", "*.githubusercontent.com:443")]
    [InlineData("203.0.113.7:80", "203.0.113.7:80")]
    [InlineData("[2001:db8::1]:22", "[2001:db8::1]:22")]
    [InlineData("[::ffff:127.0.0.1]:80", "127.0.0.1:80")]
    public void A_rule_reads_to_its_normal_form(string text, string normal)
    {
        var rule = EgressRule.TryParse(text, out var problem);
        Assert.Null(problem);
        Assert.Equal(normal, rule!.ToString());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("http://example.com", "URL")]
    [InlineData("exa*mple.com", "wildcard goes only at the start")]
    [InlineData("a.*.example.com", "wildcard goes only at the start")]
    [InlineData("*.com", "at least two labels")]
    [InlineData("*", "wildcard goes only at the start")]
    [InlineData("a..b", "not a DNS name")]
    [InlineData("-a.example.com", "not a DNS name")]
    [InlineData("host:0", "1 to 65535")]
    [InlineData("host:65536", "1 to 65535")]
    [InlineData("host:08", "1 to 65535")]
    [InlineData("host:", "1 to 65535")]
    [InlineData("127.1", "odd form")]
    [InlineData("2130706433", "odd form")]
    [InlineData("0x7f.0.0.1", "odd form")]
    [InlineData("0177.0.0.1", "odd form")]
    [InlineData("2001:db8::1", "brackets")]
    [InlineData("[fe80::1%eth0]:443", "not an IPv6 address")]
    [InlineData("*.203.0.113.7", "not an address")]
    [InlineData("under_score.example.com", "not a DNS name")]
    public void A_bad_rule_is_refused_with_the_reason(string text, string reason)
    {
        Assert.Null(EgressRule.TryParse(text, out var problem));
        Assert.Contains(reason, problem);
    }

    [Fact]
    public void An_absurd_list_is_refused_and_names_its_size_or_first_bad_rule()
    {
        Assert.Contains("at most 256", EgressRule.ProblemWith(Enumerable.Range(0, 257).Select(i => $"h{i}.example.com").ToList()));
        Assert.Contains("'http://x'", EgressRule.ProblemWith(["github.com", "http://x"]));
        Assert.Null(EgressRule.ProblemWith(["github.com", "*.npmjs.org", "10.0.0.5:5432"]));
        Assert.Contains("over 255", EgressRule.TryParse(new string('a', 256), out var p) is null ? p : "");
    }

    [Theory]
    [InlineData("github.com", "github.com:443", true)]
    [InlineData("github.com", "GITHUB.com.:443", true)]
    [InlineData("github.com", "github.com:80", false)]
    [InlineData("github.com", "api.github.com:443", false)]
    [InlineData("*.github.com", "api.github.com:443", true)]
    [InlineData("*.github.com", "a.b.github.com:443", true)]
    [InlineData("*.github.com", "github.com:443", false)]
    [InlineData("*.github.com", "evilgithub.com:443", false)]
    [InlineData("10.0.0.5:5432", "10.0.0.5:5432", true)]
    [InlineData("10.0.0.5:5432", "[::ffff:10.0.0.5]:5432", true)]
    [InlineData("github.com", "140.82.112.3:443", false)]
    public void A_target_matches_a_rule_in_normal_form(string rule, string target, bool matches)
    {
        var parsed = EgressRule.TryParse(rule, out _)!;
        var to = EgressRule.TryParseTarget(target, out var problem);
        Assert.Null(problem);
        Assert.Equal(matches, parsed.Matches(to!));
    }

    [Theory]
    [InlineData("example.com", "port is missing")]
    [InlineData("127.1:80", "odd form")]
    [InlineData("exa mple.com:443", "not a DNS name")]
    public void A_bad_target_is_refused(string target, string reason)
    {
        Assert.Null(EgressRule.TryParseTarget(target, out var problem));
        Assert.Contains(reason, problem);
    }

    [Fact]
    public void Only_a_literal_rule_names_an_address()
    {
        var literal = EgressRule.TryParse("169.254.169.254:80", out _)!;
        Assert.True(literal.NamesLiterally(IPAddress.Parse("::ffff:169.254.169.254"), 80));
        Assert.False(literal.NamesLiterally(IPAddress.Parse("169.254.169.254"), 443));
        Assert.False(EgressRule.TryParse("metadata.example.com:80", out _)!.NamesLiterally(IPAddress.Parse("169.254.169.254"), 80));
    }
}
