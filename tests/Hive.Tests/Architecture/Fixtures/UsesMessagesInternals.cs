using Hive.Contracts.Messages;
using Hive.Features.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Tests.Architecture.Fixtures;

/// <summary>
/// A deliberate violation for <see cref="ContractTypeTests"/>: read as if the test assembly were a feature above
/// Messages, this reaches for Messages' Carter module and its DI registration (not contracts), beside a request and
/// its response (contracts).
/// </summary>
public static class UsesMessagesInternals
{
    public static Type Routes => typeof(MessagesModule);

    public static IServiceCollection Register(IServiceCollection services) => services.AddMessages();

    public static SendMessage.Command Reply(MessageView to) => new("alice", to.From, "thanks");
}
