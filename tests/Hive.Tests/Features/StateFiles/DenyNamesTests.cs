using Hive.Features.StateFiles;
using Hive.Shared;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Tests.Features.StateFiles;

/// <summary>
/// The deny-list globs (<c>Hive:StateFiles:DenyNames</c>): <c>*</c> and <c>?</c> are wildcards, case never matters,
/// and a name is refused when it matches any of them.
/// </summary>
public sealed class DenyNamesTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("hive-deny-").FullName;
    private string State => Path.Combine(_dataDir, "agents", "alice", "state");

    public DenyNamesTests() => Directory.CreateDirectory(State);

    public void Dispose() => Directory.Delete(_dataDir, recursive: true);

    /// <summary>The verdict on alice's state file <paramref name="name"/>, with the default deny names or the given ones.</summary>
    private StateFileVerdict Check(string name, params string[] denyNames)
    {
        var options = new StateFilesOptions { DenyNames = denyNames.Length > 0 ? [.. denyNames] : null };
        return new StateFileAllowList(new HivePaths(_dataDir), Options.Create(options)).Check("/agents/alice/state/" + name);
    }

    private StateFileVerdict WriteAndCheck(string name, params string[] denyNames)
    {
        File.WriteAllText(Path.Combine(State, name), "content");
        return Check(name, denyNames);
    }

    [Theory]
    [InlineData("forge-token")]
    [InlineData("Forge-Token")]
    [InlineData("server.key")]
    [InlineData("SERVER.KEY")]
    [InlineData(".key")]
    [InlineData("cert.Pem")]
    [InlineData(".credentials")]
    [InlineData(".Credentials.json")]
    [InlineData("id_rsa")]
    [InlineData("ID_RSA.pub")]
    [InlineData("id_ed25519.pub")]
    [InlineData("server.\u212Aey")] // KELVIN SIGN: lower-cases to 'k', though it does not upper-case to 'K'
    public void The_default_globs_refuse_secret_names_in_any_case(string name) =>
        Assert.Equal(StateFileVerdict.Refused, WriteAndCheck(name));

    [Theory]
    [InlineData("my-forge-token")]
    [InlineData("forge-token.md")]
    [InlineData("server.key.md")]
    [InlineData("keys.md")]
    [InlineData("pem")]
    [InlineData("credentials")]
    [InlineData("my_id_rsa")]
    public void The_default_globs_match_whole_names_only(string name) =>
        Assert.Equal(StateFileVerdict.Allowed, WriteAndCheck(name));

    [Theory]
    [InlineData("a?c", "abc", StateFileVerdict.Refused)]
    [InlineData("a?c", "a?c", StateFileVerdict.Refused)]
    [InlineData("a?c", "ac", StateFileVerdict.Allowed)]
    [InlineData("a?c", "abbc", StateFileVerdict.Allowed)]
    [InlineData("*secret*", "MY-SECRET-NOTES.md", StateFileVerdict.Refused)]
    [InlineData("*.KEY", "server.key", StateFileVerdict.Refused)]
    public void Configured_globs_have_star_and_question_mark_wildcards(string denyName, string name, StateFileVerdict expected) =>
        Assert.Equal(expected, WriteAndCheck(name, denyName));

    [Fact]
    public void A_backslash_in_a_configured_glob_stops_the_start_up()
    {
        // The BCL matcher reads '\' as an escape, except after a leading '*' where it compares it literally.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Hive:StateFiles:DenyNames:0"] = @"*\key" })
            .Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddStateFiles().BuildServiceProvider();
        var refusal = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<StateFilesOptions>>().Value);
        Assert.Contains("DenyNames", refusal.Message);
    }

    [Fact]
    public void Configured_names_add_to_the_defaults_and_can_never_remove_them()
    {
        // .NET binds lists by index: "DenyNames:0" once replaced the first default, forge-token.
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Hive:StateFiles:DenyNames:0"] = "notes.md", ["Hive:StateFiles:DenyNames:1"] = "", ["Hive:StateFiles:DenyNames:5"] = "x",
            })
            .Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddSingleton(new HivePaths(_dataDir))
            .AddStateFiles().BuildServiceProvider();
        var allowList = services.GetRequiredService<IStateFileAllowList>();
        foreach (var name in new[] { "forge-token", "server.key", "id_ed25519", "notes.md" })
        {
            File.WriteAllText(Path.Combine(State, name), "content");
            Assert.Equal(StateFileVerdict.Refused, allowList.Check("/agents/alice/state/" + name));
        }
        File.WriteAllText(Path.Combine(State, "plan.md"), "content");
        Assert.Equal(StateFileVerdict.Allowed, allowList.Check("/agents/alice/state/plan.md"));
    }
}
