using System.Text.RegularExpressions;

namespace Hive.Features.Containers;

/// <summary>
/// Values that look like credentials, so a configuration that would write one into the meta repo (and so into approval
/// diffs and the forge) in plain <c>env</c> or in its command is refused with a pointer to secrets. The patterns are the
/// providers' documented prefixes with a length that real keys have, so ordinary words (<c>sk-learn</c>) pass.
/// </summary>
public static partial class KeyLikeValues
{
    private static readonly (string Kind, Regex Pattern)[] Patterns =
    [
        ("an Anthropic API key (sk-ant-…)", AnthropicKey()),
        ("an OpenAI-style API key (sk-…)", OpenAiKey()),
        ("a GitHub token (ghp_/gho_/ghu_/ghs_/ghr_…)", GitHubToken()),
        ("a GitHub fine-grained token (github_pat_…)", GitHubPat()),
        ("a GitLab token (glpat-…)", GitLabToken()),
        ("a Slack token (xoxb-/xoxp-/xoxa-/xoxs-/xoxr-…)", SlackToken()),
        ("an AWS access key id (AKIA…/ASIA…)", AwsKeyId()),
        ("a private key (-----BEGIN … PRIVATE KEY-----)", PrivateKey()),
        ("a Google API key (AIza…)", GoogleKey()),
        ("a Hugging Face token (hf_…)", HuggingFaceToken()),
        ("an npm token (npm_…)", NpmToken()),
        ("a Stripe secret key (sk_live_/rk_live_…)", StripeKey()),
    ];

    /// <summary>What kind of credential the value looks like (never the value), or null.</summary>
    public static string? KindOf(string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        foreach (var (kind, pattern) in Patterns)
            if (pattern.IsMatch(value)) return kind;
        return null;
    }

    public const string Pointer =
        "store it as a secret (PUT /api/secrets/{name}, or `hivectl secrets set NAME` with the value on stdin) and reference it by name: " +
        "\"secrets\": {\"VARIABLE\": \"name\"}; a value in env is written to the meta repo, approval diffs and the forge";

    // Each starts where a token can start (not inside a longer word) and asks for the length real ones have.
    [GeneratedRegex(@"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}")]
    private static partial Regex AnthropicKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{32,}")]
    private static partial Regex OpenAiKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{30,}")]
    private static partial Regex GitHubToken();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{30,}")]
    private static partial Regex GitHubPat();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,}")]
    private static partial Regex GitLabToken();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])xox[bpasr]-[A-Za-z0-9-]{10,}")]
    private static partial Regex SlackToken();

    [GeneratedRegex(@"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")]
    private static partial Regex AwsKeyId();

    [GeneratedRegex(@"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")]
    private static partial Regex PrivateKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}")]
    private static partial Regex GoogleKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,}")]
    private static partial Regex HuggingFaceToken();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}")]
    private static partial Regex NpmToken();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])[rs]k_live_[A-Za-z0-9]{20,}")]
    private static partial Regex StripeKey();
}
