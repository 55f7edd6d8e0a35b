using System.Reflection;
using Hive.Features.Constellation;
using Hive.Features.Containers;
using Hive.Features.Egress;
using Hive.Features.Forge;
using Hive.Features.Gateway;
using Hive.Features.Governance;
using Hive.Features.Messages;
using Hive.Features.Notifications;
using Hive.Features.Permissions;
using Hive.Features.Questions;
using Hive.Features.Reminders;
using Hive.Features.Search;
using Hive.Features.StateFiles;
using Hive.Features.TurnStats;
using Hive.Features.Work;
using Hive.Shared;

namespace Hive.Host;

/// <summary>The assemblies of the hive, in dependency order; MediatR, Carter, the socket verbs and the migrator all get this one list.</summary>
public static class HiveFeatures
{
    public static readonly IReadOnlyList<Assembly> Assemblies =
    [
        typeof(HiveOptions).Assembly,
        typeof(IFileRefScanner).Assembly,
        typeof(MessagesFeature).Assembly,
        typeof(RemindersFeature).Assembly,
        typeof(QuestionsFeature).Assembly,
        typeof(ContainersFeature).Assembly,
        typeof(ForgeFeature).Assembly,
        typeof(TurnStatsFeature).Assembly,
        typeof(GovernanceFeature).Assembly,
        typeof(NotificationsFeature).Assembly,
        typeof(WorkFeature).Assembly,
        typeof(SearchFeature).Assembly,
        typeof(ConstellationFeature).Assembly,
        typeof(GatewayFeature).Assembly,
        typeof(EgressFeature).Assembly,
        typeof(PermissionsFeature).Assembly,
    ];
}
