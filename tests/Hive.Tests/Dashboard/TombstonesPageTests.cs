using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Hive.Tests.Features.Containers.TestGit;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// The destroyed agents' section with retention on: their total size, the next purge, and each tombstone's standing — a
/// fresh one "purged in …", one the sweep kept "kept: unpushed work …" — live from the sweep's event.
/// </summary>
public sealed class TombstonesPageTests(BrowserFixture browser, TombstonesPageTests.Fixture fixture)
    : ManagedAgentsPageTests(browser, fixture), IClassFixture<BrowserFixture>, IClassFixture<TombstonesPageTests.Fixture>
{
    public sealed class Fixture : HiveFixture
    {
        protected override string[] Args => ["--Hive:Containers:TombstoneRetainDays", "1"];
    }

    [Fact]
    public async Task Shows_the_total_the_next_purge_and_a_tombstone_kept_for_unpushed_work()
    {
        var (keeper, fresh) = (await Hive.NewAgentAsync("keeper"), await Hive.NewAgentAsync("fresh"));
        var work = Path.Combine(Hive.DataDir, "agents", keeper, "state", "work");
        Git(null, "init", "-q", "-b", "main", work);
        Git(work, "commit", "-q", "--allow-empty", "-m", "local only");
        foreach (var name in new[] { keeper, fresh })
            using (var destroyed = await Hive.Http.DeleteAsync($"/api/agents/{name}")) Assert.Equal(HttpStatusCode.NoContent, destroyed.StatusCode);
        Hive.ExecuteDb($"UPDATE tombstones SET destroyed_at = '2020-01-01T00:00:00.000Z' WHERE name = '{keeper}'");
        try
        {
            await OpenAsync();
            var summary = Page.Locator("#tombstones-summary");
            await Expect(summary.Locator(".total")).ToHaveTextAsync(new Regex(@" in all$"));
            await Expect(summary.Locator(".next-purge")).ToHaveTextAsync(new Regex(@"^next purge in \d+m$"));
            await Expect(Page.Locator("#tombstones-note")).ToContainTextAsync("deleted 1 day after the destroy");
            await Expect(Page.Locator($"#tombstones > li[data-tombstone={fresh}] .retention")).ToHaveTextAsync(new Regex(@"^purged in \d+h$"));
            var kept = Page.Locator($"#tombstones > li[data-tombstone={keeper}] .retention");
            await Expect(kept).ToHaveTextAsync("purge due");

            using (var swept = await Hive.Http.PostAsync("/api/tombstones/sweep", null)) Assert.Equal(HttpStatusCode.OK, swept.StatusCode);
            await Expect(kept).ToHaveTextAsync("kept: unpushed work in state/work/.git");
            await Expect(kept).ToHaveClassAsync(new Regex(@"\bkept\b"));
            Assert.Equal(1, StateRequests);
            Assert.Empty(ConsoleErrors);
        }
        finally
        {
            foreach (var name in new[] { keeper, fresh }) using (await Hive.Http.DeleteAsync($"/api/tombstones/{name}")) { }
        }
    }
}
