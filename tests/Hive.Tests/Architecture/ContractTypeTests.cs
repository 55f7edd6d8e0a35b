using Hive.Tests.Architecture.Fixtures;
using Xunit.Abstractions;

namespace Hive.Tests.Architecture;

public sealed class ContractTypeTests(ITestOutputHelper output)
{
    /// <summary>The small interfaces DESIGN.md lets features use beside requests and notifications, with why.</summary>
    private static readonly IReadOnlyDictionary<string, string> AllowedInterfaces = new Dictionary<string, string>
    {
        ["Hive.Features.StateFiles.IStateFileAllowList"] = "DESIGN.md: StateFiles exposes the allow-list (the one place path logic lives)",
        ["Hive.Features.StateFiles.IFileRefScanner"] = "DESIGN.md: the scanner of file tokens in message, question, answer and reminder bodies",
        ["Hive.Features.StateFiles.IStateFileWriter"] = "files written into an agent's state dir (long reminders), never through a link",
    };

    /// <summary>Known uses of a non-contract type: (using feature, type) → why it is tolerated. Keep it empty.</summary>
    private static readonly IReadOnlyDictionary<(string Feature, string Type), string> Exceptions =
        new Dictionary<(string Feature, string Type), string>();

    private static readonly ContractCatalog Contracts =
        ContractCatalog.Of(HiveSources.Assemblies.Where(a => HiveSources.IsFeature(HiveSources.NameOf(a))), AllowedInterfaces);

    private static IEnumerable<(string Feature, IReadOnlyList<TypeReferences.Use> Uses)> RealFeatures() =>
        HiveSources.Assemblies
            .Where(a => HiveSources.IsFeature(HiveSources.NameOf(a)))
            .Select(a => (HiveSources.NameOf(a), TypeReferences.Of(a.Location)));

    [Fact]
    public void Features_use_one_another_only_through_contracts()
    {
        var violations = new List<string>();
        foreach (var (feature, uses) in RealFeatures())
        {
            foreach (var use in ContractTypeRule.CrossFeatureUses(feature, uses))
                output.WriteLine($"{feature} -> {use.FullName}: {(Contracts.Why.TryGetValue(use.FullName, out var why) ? why : Exceptions.GetValueOrDefault((feature, use.FullName), "NOT A CONTRACT"))}");
            violations.AddRange(ContractTypeRule.Violations(feature, uses, Contracts, Exceptions));
        }
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }

    [Fact]
    public void Every_listed_exception_is_still_needed()
    {
        var uses = RealFeatures().SelectMany(f => ContractTypeRule.CrossFeatureUses(f.Feature, f.Uses).Select(u => (f.Feature, u.FullName))).ToHashSet();
        Assert.All(Exceptions.Keys, e =>
        {
            Assert.True(uses.Contains((e.Feature, e.Type)), $"{e.Feature} no longer uses {e.Type}: drop the exception");
            Assert.False(Contracts.Contains(e.Type), $"{e.Type} is a contract now: drop the exception");
        });
    }

    [Fact]
    public void The_catalog_follows_requests_into_their_use_case_and_surface()
    {
        Assert.Equal("a request", Contracts.Why["Hive.Features.Messages.SendMessage+Command"]);
        Assert.StartsWith("the use case of", Contracts.Why["Hive.Features.Messages.SendMessage"]);
        Assert.StartsWith("in the public surface of", Contracts.Why["Hive.Features.Governance.Reached"]);
        // Wire types live in Hive.Contracts, which every slice may use: the catalog holds only the features' own.
        Assert.False(Contracts.Contains("Hive.Contracts.Messages.MessageView"));
        Assert.Equal("a notification", Contracts.Why["Hive.Features.Messages.MessageSent"]);
        Assert.StartsWith("allowed interface", Contracts.Why["Hive.Features.StateFiles.IFileRefScanner"]);
        Assert.False(Contracts.Contains(typeof(Hive.Features.Messages.MessagesModule).FullName!));
        Assert.False(Contracts.Contains(typeof(Hive.Features.Messages.MessagesFeature).FullName!));
    }

    [Fact]
    public void Reports_a_module_and_a_registration_class_used_from_above()
    {
        // The test assembly read as a feature above Messages; UsesMessagesInternals is the violating fixture.
        Assert.NotNull(UsesMessagesInternals.Routes);
        var testAssembly = typeof(UsesMessagesInternals).Assembly;

        var violations = ContractTypeRule.Violations("Hive.Tests", TypeReferences.Of(testAssembly.Location), Contracts, Exceptions);

        Assert.Contains(violations, v => v.StartsWith("Hive.Tests uses Hive.Features.Messages.MessagesModule of Hive.Features.Messages:", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.StartsWith("Hive.Tests uses Hive.Features.Messages.MessagesFeature of Hive.Features.Messages:", StringComparison.Ordinal));
        Assert.DoesNotContain(violations, v => v.Contains("SendMessage", StringComparison.Ordinal) || v.Contains(".MessageView ", StringComparison.Ordinal));
    }
}
