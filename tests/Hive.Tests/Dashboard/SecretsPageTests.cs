using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>The secrets section: set from the form (the value field emptied, the value never on the page), listed with dates, deleted; live from events.</summary>
public sealed class SecretsPageTests(BrowserFixture browser, HiveFixture fixture)
    : ManagedAgentsPageTests(browser, fixture), IClassFixture<BrowserFixture>, IClassFixture<HiveFixture>
{
    [Fact]
    public async Task A_secret_is_set_from_the_form_listed_without_its_value_and_deleted()
    {
        var value = "s3cret-" + Guid.NewGuid().ToString("N");
        await OpenAsync();
        await Page.Locator("#secret-box summary").ClickAsync();
        var form = Page.Locator("#secret-form");
        await form.Locator("input[name=name]").FillAsync("anthropic");
        await form.Locator("input[name=value]").FillAsync(value);
        await form.Locator("button[type=submit]").ClickAsync();

        var row = Page.Locator("#secrets > li[data-secret=anthropic]");
        await Expect(row.Locator(".updated")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("just now|s ago"));
        await Expect(form.Locator("input[name=value]")).ToHaveValueAsync("");
        Assert.DoesNotContain(value, await Page.ContentAsync());
        Assert.Equal(value, await File.ReadAllTextAsync(Path.Combine(Hive.DataDir, "secrets", "anthropic")));

        // Set elsewhere (the API), it appears from its event; the refused ones show under the form.
        using (var put = await Hive.Http.PutAsJsonAsync("/api/secrets/other", new { value = "x" })) Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await Expect(Page.Locator("#secrets > li[data-secret=other]")).ToBeVisibleAsync();

        await row.Locator("button").ClickAsync();
        await Expect(row).ToHaveCountAsync(0);
        Assert.Contains(Dialogs, d => d.StartsWith("Delete the secret anthropic?", StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(Hive.DataDir, "secrets", "anthropic")));
        using (var deleted = await Hive.Http.DeleteAsync("/api/secrets/other")) Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(1, StateRequests);
        Assert.Empty(ConsoleErrors);
    }
}
