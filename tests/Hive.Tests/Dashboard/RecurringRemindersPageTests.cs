using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The reminders section's recurring reminders: each with its cron, its next three run times and
/// pause/resume/cancel; live from events (one set up over the API appears, a pause from the page reaches the host).
/// </summary>
public sealed class RecurringRemindersPageTests(BrowserFixture browser, HiveFixture fixture)
    : ManagedAgentsPageTests(browser, fixture), IClassFixture<BrowserFixture>, IClassFixture<HiveFixture>
{
    [Fact]
    public async Task A_recurring_reminder_shows_its_next_three_runs_and_is_paused_resumed_and_cancelled_from_the_page()
    {
        var agent = await Hive.NewAgentAsync("cronned");
        Agents.Add(agent);
        await OpenAsync();

        using var created = await Hive.Http.PostAsJsonAsync("/api/reminders", new { to = agent, body = "weekly review", cron = "0 9 * * 1", time_zone = "Europe/Berlin" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt64();

        var row = Page.Locator($"#recurring > li[data-id='{id}']");
        await Expect(row.Locator(".cron")).ToHaveTextAsync("0 9 * * 1");
        await Expect(row.Locator(".next time")).ToHaveCountAsync(3);
        await Expect(row).ToContainTextAsync("Europe/Berlin");

        await row.Locator("button.pause").ClickAsync();
        await Expect(row.Locator("button.resume")).ToBeVisibleAsync();
        await Expect(row.Locator(".next time")).ToHaveCountAsync(0);
        Assert.Equal("paused", (await Hive.GetJsonAsync($"/api/reminders/recurring/{id}")).GetProperty("state").GetString());

        await row.Locator("button.resume").ClickAsync();
        await Expect(row.Locator(".next time")).ToHaveCountAsync(3);

        await row.Locator("button.cancel").ClickAsync();
        await Expect(row).ToHaveCountAsync(0);
        Assert.Contains(Dialogs, d => d.StartsWith($"Cancel the recurring reminder for {agent}?", StringComparison.Ordinal));
        using var gone = await Hive.Http.GetAsync($"/api/reminders/recurring/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal(1, StateRequests);
        Assert.Empty(ConsoleErrors);
    }
}
