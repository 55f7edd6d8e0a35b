using System.Text.RegularExpressions;

namespace Hive.Features.Containers;

/// <summary>
/// Values that look like credentials, so a configuration that would write one into the meta repo (and so into approval
/// diffs and the forge) in plain <c>env</c> or in its command is refused with a pointer to secrets. The patterns are the
/// providers' documented prefixes with a length that real keys have, so ordinary words (<c>sk-learn</c>) pass; in any
/// letter case, and inside base64 (a run of 20 or more base64 characters is decoded and looked at too, twice nested at
/// most). A guard rail against pasting a key in the wrong place, not a boundary: a key split, reversed or otherwise
/// encoded passes, and the operator who writes it is not the one it guards against.
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
    public static string? KindOf(string? value) => string.IsNullOrEmpty(value) ? null : KindOf(value, depth: 0);

    /// <summary>Base64 nested deeper than this is not unwrapped.</summary>
    private const int MaxDepth = 2;

    /// <summary>The shortest base64 run decoded: base64 of the shortest prefix with the length a key has is longer.</summary>
    private const int MinBase64Run = 20;

    private static string? KindOf(string value, int depth)
    {
        foreach (var (kind, pattern) in Patterns)
            if (pattern.IsMatch(value)) return depth == 0 ? kind : $"{kind}, base64-encoded";
        if (depth == MaxDepth) return null;
        foreach (Match run in Base64Run().Matches(value))
        {
            // The run may start inside a word glued to it ("Basic" + base64): each of the four alignments is tried.
            var text = run.Value.TrimEnd('=').Replace('-', '+').Replace('_', '/');
            for (var offset = 0; offset < 4 && text.Length - offset >= MinBase64Run; offset++)
            {
                var aligned = text[offset..];
                aligned = aligned[..(aligned.Length / 4 * 4)];
                if (aligned.Length == 0) continue;
                byte[] decoded;
                try
                {
                    decoded = Convert.FromBase64String(aligned);
                }
                catch (FormatException)
                {
                    continue;
                }
                if (KindOf(System.Text.Encoding.Latin1.GetString(decoded), depth + 1) is { } kind) return kind;
            }
        }
        return null;
    }

    public const string Pointer =
        "store it as a secret (PUT /api/secrets/{name}, or `hivectl secrets set NAME` with the value on stdin) and reference it by name: " +
        "\"secrets\": {\"VARIABLE\": \"name\"}; a value in env is written to the meta repo, approval diffs and the forge";

    [GeneratedRegex(@"[A-Za-z0-9+/_-]{20,}={0,2}")]
    private static partial Regex Base64Run();

    // Each starts where a token can start (in any letter case: a key typed or piped through upper case is still one) (not inside a longer word) and asks for the length real ones have.
    [GeneratedRegex(@"(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}", RegexOptions.IgnoreCase)]
    private static partial Regex AnthropicKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{32,}", RegexOptions.IgnoreCase)]
    private static partial Regex OpenAiKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{30,}", RegexOptions.IgnoreCase)]
    private static partial Regex GitHubToken();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{30,}", RegexOptions.IgnoreCase)]
    private static partial Regex GitHubPat();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,}", RegexOptions.IgnoreCase)]
    private static partial Regex GitLabToken();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])xox[bpasr]-[A-Za-z0-9-]{10,}", RegexOptions.IgnoreCase)]
    private static partial Regex SlackToken();

    // Upper case only: AWS writes its ids so, and a lower-case one would be any 20-letter word starting "asia".
    [GeneratedRegex(@"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")]
    private static partial Regex AwsKeyId();

    [GeneratedRegex(@"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----", RegexOptions.IgnoreCase)]
    private static partial Regex PrivateKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}", RegexOptions.IgnoreCase)]
    private static partial Regex GoogleKey();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,}", RegexOptions.IgnoreCase)]
    private static partial Regex HuggingFaceToken();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}", RegexOptions.IgnoreCase)]
    private static partial Regex NpmToken();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])[rs]k_live_[A-Za-z0-9]{20,}", RegexOptions.IgnoreCase)]
    private static partial Regex StripeKey();
}
