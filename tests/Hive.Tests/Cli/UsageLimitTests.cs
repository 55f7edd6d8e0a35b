using Hive.Cli.Commands.Agent.Run;

namespace Hive.Tests.Cli;

/// <summary>
/// The harness's reading of a failed turn's result text (<c>UsageLimit</c>, compiled in from src/Cli):
/// which texts name a usage or rate limit, and the reset time read from an epoch after a bar or an ISO time.
/// </summary>
public sealed class UsageLimitTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("Claude AI usage limit reached|1795464000", "2026-11-23T20:00:00Z")]
    [InlineData("Claude AI usage limit reached|1795464000000", "2026-11-23T20:00:00Z")]
    [InlineData("5-hour limit reached ∙ resets 2026-11-24T03:00:00Z", "2026-11-24T03:00:00Z")]
    [InlineData("Weekly limit reached · resets 2026-11-27 09:30", "2026-11-27T09:30:00Z")]
    [InlineData("Opus limit reached, resets 2026-11-23T16:00:00+02:00", "2026-11-23T14:00:00Z")]
    [InlineData("Session limit reached ∙ resets 2026-11-23T13:15:30.250Z", "2026-11-23T13:15:30.250Z")]
    public void Reads_the_reset_time_from_an_epoch_or_an_iso_time(string text, string until)
    {
        Assert.True(UsageLimit.TryRead(text, Now, out var at));
        Assert.Equal(DateTimeOffset.Parse(until, System.Globalization.CultureInfo.InvariantCulture), at);
    }

    [Theory]
    [InlineData("You've hit your limit · resets 3am (Europe/Berlin)")]
    [InlineData("You've hit your limit")]
    [InlineData("API Error: 429 {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"This request would exceed the rate limit for your organization\"}}")]
    [InlineData("Rate limit reached for requests")]
    [InlineData("Claude usage limit reached. Your limit will reset at 5pm.")]
    [InlineData("You exceeded your current quota, please check your plan and billing details.")]
    [InlineData("429 Too Many Requests")]
    public void Names_a_limit_without_a_time_it_can_read(string text)
    {
        Assert.True(UsageLimit.TryRead(text, Now, out var at));
        Assert.Null(at);
    }

    [Theory]
    [InlineData("Claude AI usage limit reached|1700000000")] // 2023: already past
    [InlineData("5-hour limit reached ∙ resets 2026-11-23T11:59:59Z")] // a second ago
    [InlineData("Monthly limit reached ∙ resets 2026-12-01T00:00:00Z")] // beyond the 7 days the hive takes
    public void A_reset_time_past_or_beyond_seven_days_is_left_out(string text)
    {
        Assert.True(UsageLimit.TryRead(text, Now, out var at));
        Assert.Null(at);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Prompt is too long")]
    [InlineData("Context limit reached: /compact or /clear to continue")]
    [InlineData("Error: the tool failed; limit the output to 10 lines")]
    [InlineData("API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}")]
    [InlineData("Done: I replied to bob at 2026-11-24T03:00:00Z|1795435200")]
    [InlineData("the usage of this limitless API")]
    public void Other_failures_are_no_limit(string? text)
    {
        Assert.False(UsageLimit.TryRead(text, Now, out var at));
        Assert.Null(at);
    }
}
