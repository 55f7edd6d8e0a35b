namespace Hive.Tests.Architecture;

/// <summary>DESIGN.md's dependency graph: each hive assembly and the hive assemblies it may reference (besides itself).</summary>
internal static class FeatureGraph
{
    // Contracts <- Shared <- StateFiles <- Messages <- Reminders, Questions <- Containers <- Forge, Governance <- Notifications, Work, Gateway (+TurnStats), Egress, Permissions;  TurnStats, Search -> Shared only; Messages <- Constellation <- Notifications.
    public static readonly IReadOnlyDictionary<string, string[]> Allowed = new Dictionary<string, string[]>
    {
        ["Hive.Contracts"] = [], // the wire's records and the verb catalog: plain records, below everything
        ["Hive.Shared"] = ["Hive.Contracts"],
        ["Hive.Features.StateFiles"] = ["Hive.Contracts", "Hive.Shared"],
        ["Hive.Features.Messages"] = ["Hive.Contracts", "Hive.Shared", "Hive.Features.StateFiles"],
        ["Hive.Features.Reminders"] = ["Hive.Contracts", "Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages"],
        ["Hive.Features.Questions"] = ["Hive.Contracts", "Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages"],
        ["Hive.Features.Containers"] = ["Hive.Contracts", "Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages", "Hive.Features.Reminders", "Hive.Features.Questions"],
        ["Hive.Features.Forge"] = ["Hive.Contracts", "Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages", "Hive.Features.Reminders", "Hive.Features.Questions", "Hive.Features.Containers"],
        ["Hive.Features.TurnStats"] = ["Hive.Contracts", "Hive.Shared"],
        ["Hive.Features.Search"] = ["Hive.Contracts", "Hive.Shared"], // fed through Shared's ISearchIndex/ISearchSource by the slices that own the text
        ["Hive.Features.Governance"] = ["Hive.Contracts", "Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages", "Hive.Features.Reminders", "Hive.Features.Questions", "Hive.Features.Containers"],
        ["Hive.Features.Notifications"] = ["Hive.Contracts", "Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages", "Hive.Features.Reminders", "Hive.Features.Questions", "Hive.Features.Containers", "Hive.Features.Governance", "Hive.Features.Constellation"],
        ["Hive.Features.Constellation"] = ["Hive.Contracts", "Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages"], // cross-hive mail: into and out of the local broker
        ["Hive.Features.Gateway"] = ["Hive.Contracts", "Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages", "Hive.Features.Reminders", "Hive.Features.Questions", "Hive.Features.Containers", "Hive.Features.TurnStats", "Hive.Features.Governance"],
        ["Hive.Features.Egress"] = ["Hive.Contracts", "Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages", "Hive.Features.Reminders", "Hive.Features.Questions", "Hive.Features.Containers"],
        ["Hive.Features.Permissions"] = ["Hive.Contracts", "Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages", "Hive.Features.Reminders", "Hive.Features.Questions", "Hive.Features.Containers"],
        ["Hive.Features.Work"] = ["Hive.Contracts", "Hive.Shared", "Hive.Features.StateFiles", "Hive.Features.Messages", "Hive.Features.Reminders", "Hive.Features.Questions", "Hive.Features.Containers", "Hive.Features.Forge", "Hive.Features.Governance"],
    };
}
