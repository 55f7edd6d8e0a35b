using Hive.Tests.Architecture;
using Microsoft.Playwright;

namespace Hive.Tests.Dashboard;

/// <summary>
/// Where the page tests' screenshots go: the test output, unless HIVE_UPDATE_SCREENSHOTS=1 asks for the tracked ones in
/// docs/screenshots to be rewritten (<c>HIVE_UPDATE_SCREENSHOTS=1 ./test.sh --filter Screenshots</c>, then commit them).
/// </summary>
internal static class Screenshots
{
    public static string Folder
    {
        get
        {
            var folder = Environment.GetEnvironmentVariable("HIVE_UPDATE_SCREENSHOTS") == "1"
                ? Path.Combine(FeatureGraphTests.RepoRoot(), "docs", "screenshots")
                : Path.Combine(AppContext.BaseDirectory, "screenshots");
            Directory.CreateDirectory(folder);
            return folder;
        }
    }

    /// <summary>The page (whole, or its viewport) as <paramref name="name"/>, checked to be a picture of something.</summary>
    public static async Task SaveAsync(IPage page, string name, bool fullPage = true)
    {
        var path = Path.Combine(Folder, name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = fullPage });
        Assert.True(new FileInfo(path).Length > 10_000);
    }

    /// <summary>One part of a page (a section) as <paramref name="name"/>, checked to be a picture of something.</summary>
    public static async Task SaveAsync(ILocator part, string name)
    {
        var path = Path.Combine(Folder, name);
        await part.ScreenshotAsync(new LocatorScreenshotOptions { Path = path });
        Assert.True(new FileInfo(path).Length > 10_000);
    }
}
