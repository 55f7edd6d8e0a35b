namespace Hive.Tests.Features.Messages;

/// <summary>The one hive the Messages slice tests share; its classes run one after another, each test on agents of its own.</summary>
[CollectionDefinition(Name)]
public sealed class MessagesHive : ICollectionFixture<HiveFixture>
{
    public const string Name = "Messages";
}
