from pathlib import Path

from flotilla.devfleet.components import ClusterLayout, command_line, components, required_files
from flotilla.devfleet.topology import fleet_topology

HUB, MEMBER = fleet_topology(1)


def _argv(component: str, cluster: object) -> list[str]:
    layout = ClusterLayout(Path("/state/clusters/x"))
    files = {name: Path(f"/bin/{name}") for name in required_files(cluster)}  # type: ignore[arg-type]
    return command_line(component, cluster, layout, files)  # type: ignore[arg-type]


def test_the_hub_runs_no_scheduler_and_no_nodes() -> None:
    assert components(HUB) == ["etcd", "kube-apiserver", "kube-controller-manager"]
    assert "kube-scheduler" in components(MEMBER)
    assert "kwok" in components(MEMBER)


def test_the_hub_runs_only_namespace_garbage_collector_and_service_account_controllers() -> None:
    controllers = "--controllers=namespace,garbagecollector,serviceaccount"
    assert controllers in _argv("kube-controller-manager", HUB)
    assert "--controllers=*,-node-lifecycle-controller" in _argv("kube-controller-manager", MEMBER)


def test_the_apiserver_listens_and_advertises_on_its_own_address() -> None:
    argv = _argv("kube-apiserver", MEMBER)
    assert argv[0] == "/bin/kube-apiserver"
    assert f"--advertise-address={MEMBER.address}" in argv
    assert f"--bind-address={MEMBER.address}" in argv
    assert "--endpoint-reconciler-type=none" in argv
    assert f"--etcd-servers=http://{MEMBER.address}:2379" in argv


def test_kwok_gives_pods_ips_from_the_members_range() -> None:
    argv = _argv("kwok", MEMBER)
    assert f"--cidr={MEMBER.pod_cidr}" in argv
    assert "--manage-all-nodes=true" in argv
    assert "--config=/bin/kwok-stages.yaml" in argv


def test_every_listening_component_binds_to_the_cluster_address() -> None:
    for component in components(MEMBER):
        joined = " ".join(_argv(component, MEMBER))
        assert "0.0.0.0" not in joined
        if component == "connectivity-echo":  # EndpointSlices refuse loopback addresses
            assert f"--listen={MEMBER.echo_address}:" in joined
            assert MEMBER.echo_address == "10.1.255.254"
        elif component != "kwok":
            assert MEMBER.address in joined


def test_members_get_untainted_nodes_without_the_node_lifecycle_controller() -> None:
    assert "--disable-admission-plugins=TaintNodesByCondition" in _argv("kube-apiserver", MEMBER)
    assert "-node-lifecycle-controller" in " ".join(_argv("kube-controller-manager", MEMBER))
