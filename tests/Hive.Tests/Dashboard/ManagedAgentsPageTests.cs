using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hive.Tests.Dashboard;

/// <summary>
/// Browser tests whose stories start real agent processes: a page per test (the operator's dialogs accepted and recorded,
/// console errors and cold loads counted), and at the end every agent the test made destroyed and its processes checked
/// gone. A test that needs a hive of its own sets <see cref="Hive"/> and <see cref="OwnHive"/>.
/// </summary>
public abstract class ManagedAgentsPageTests(BrowserFixture browser, HiveFixture fixture) : SharedHiveTests(fixture), IAsyncLifetime
{
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    protected HiveInstance Hive { get; set; } = fixture.Hive;
    protected HiveInstance? OwnHive { get; set; }
    protected List<string> Agents { get; } = [];
    protected HashSet<long> Pids { get; } = [];
    protected List<string> Dialogs { get; } = [];
    protected List<string> ConsoleErrors { get; } = [];
    protected IPage Page { get; private set; } = null!;
    protected int StateRequests => Volatile.Read(ref _stateRequests);
    private IBrowserContext _context = null!;
    private int _stateRequests;

    public async Task InitializeAsync() => await NewPageAsync(1280, 900);

    protected async Task NewPageAsync(int width, int height)
    {
        if (_context is not null) await _context.CloseAsync();
        _stateRequests = 0;
        _context = await browser.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        Page = await _context.NewPageAsync();
        Page.Request += (_, request) => { if (new Uri(request.Url).AbsolutePath == "/api/state") Interlocked.Increment(ref _stateRequests); };
        Page.Console += (_, message) => { if (message.Type == "error") lock (ConsoleErrors) ConsoleErrors.Add($"{message.Text} ({message.Location})"); };
        Page.Dialog += async (_, dialog) =>
        {
            lock (Dialogs) Dialogs.Add(dialog.Message);
            await dialog.AcceptAsync(); // the operator says yes to "destroy …?" and "purge …?"
        };
        Page.SetDefaultTimeout((float)Deadline.TotalMilliseconds);
        SetDefaultExpectTimeout((float)Deadline.TotalMilliseconds);
    }

    /// <summary>Destroys what the test made (whatever it left running) and checks no process of it is left.</summary>
    public async Task DisposeAsync()
    {
        await _context.CloseAsync();
        foreach (var name in Agents)
        {
            using var response = await Hive.Http.DeleteAsync($"/api/agents/{name}");
            Assert.True(response.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.NotFound, $"destroy {name}: {response.StatusCode}");
        }
        foreach (var pid in Pids) await HiveInstance.Until(() => !Directory.Exists($"/proc/{pid}"), Deadline, $"process {pid} gone");
        if (OwnHive is not null) await OwnHive.DisposeAsync();
    }

    /// <summary>Signs in as the operator does and waits for the live stream.</summary>
    protected async Task OpenAsync()
    {
        await Page.GotoAsync(Hive.SignInUrl!.ToString());
        await Page.UntilLiveAsync();
    }
}
