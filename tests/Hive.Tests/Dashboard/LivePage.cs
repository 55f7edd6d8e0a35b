using Microsoft.Playwright;

namespace Hive.Tests.Dashboard;

/// <summary>The wait every page test starts with: the page's stream is live. When it is not, the failure says what the page shows instead.</summary>
internal static class LivePage
{
    private const string Live = "#connection[data-state=live]";

    /// <summary>Waits for the page's connection to be live (the page's default timeout unless <paramref name="timeout"/> is given, in ms).</summary>
    public static async Task UntilLiveAsync(this IPage page, float? timeout = null)
    {
        try
        {
            await page.Locator(Live).WaitForAsync(new() { Timeout = timeout });
        }
        catch (TimeoutException e)
        {
            var state = await page.EvaluateAsync<string?>("() => document.getElementById('connection')?.dataset.state ?? null");
            throw new TimeoutException($"the page at {page.Url} did not go live; its connection says: {state ?? "(no #connection)"}", e);
        }
    }
}
