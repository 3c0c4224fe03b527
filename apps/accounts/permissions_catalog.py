"""Every permission code of the admin console, and the menu tree that carries them.

Views name the code they need per method (``required_permissions``); the
``bootstrap`` command installs :func:`default_menu_tree` for the ``admin`` role
and gives the ``user`` role :data:`USER_ROLE_CODES`. A code exists here once, so
the API, the menu tree and the roles cannot drift apart.
"""
from __future__ import annotations

from typing import Any, TypedDict

from apps.accounts.models import Menu

USER_LIST = "sys:user:list"
USER_ADD = "sys:user:add"
USER_EDIT = "sys:user:edit"
USER_DEL = "sys:user:del"
ROLE_LIST = "sys:role:list"
ROLE_ADD = "sys:role:add"
ROLE_EDIT = "sys:role:edit"
ROLE_DEL = "sys:role:del"
DEPT_LIST = "sys:dept:list"
DEPT_ADD = "sys:dept:add"
DEPT_EDIT = "sys:dept:edit"
DEPT_DEL = "sys:dept:del"
MENU_LIST = "sys:menu:list"
MENU_ADD = "sys:menu:add"
MENU_EDIT = "sys:menu:edit"
MENU_DEL = "sys:menu:del"
LOGIN_LOG_LIST = "log:login:list"
LOGIN_LOG_DEL = "log:login:del"
OPERATION_LOG_LIST = "log:opera:list"
OPERATION_LOG_DEL = "log:opera:del"
MONITOR_SERVER = "monitor:server"
MONITOR_REDIS = "monitor:redis"
SETTINGS_EDIT = "sys:settings:edit"


class MenuNode(TypedDict, total=False):
    title: str
    name: str
    type: int
    path: str
    component: str
    perms: str
    icon: str
    sort: int
    children: list[MenuNode]


def _button(title: str, name: str, perms: str, sort: int) -> MenuNode:
    return {"title": title, "name": name, "type": Menu.Type.BUTTON, "perms": perms, "sort": sort}


def _crud_menu(
    *, title: str, name: str, path: str, icon: str, sort: int, codes: tuple[str, str, str, str]
) -> MenuNode:
    list_code, add_code, edit_code, del_code = codes
    return {
        "title": title,
        "name": name,
        "type": Menu.Type.MENU,
        "path": path,
        "component": f"{path.strip('/')}/index",
        "perms": list_code,
        "icon": icon,
        "sort": sort,
        "children": [
            _button(f"Add {title.lower()}", f"{name}Add", add_code, 1),
            _button(f"Edit {title.lower()}", f"{name}Edit", edit_code, 2),
            _button(f"Delete {title.lower()}", f"{name}Del", del_code, 3),
        ],
    }


def default_menu_tree() -> list[MenuNode]:
    """Directories → menus → buttons; every console code appears exactly once."""
    return [
        {
            "title": "System",
            "name": "System",
            "type": Menu.Type.DIRECTORY,
            "path": "/sys",
            "icon": "settings",
            "sort": 1,
            "children": [
                _crud_menu(
                    title="Users", name="SysUser", path="/sys/user", icon="user", sort=1,
                    codes=(USER_LIST, USER_ADD, USER_EDIT, USER_DEL),
                ),
                _crud_menu(
                    title="Roles", name="SysRole", path="/sys/role", icon="team", sort=2,
                    codes=(ROLE_LIST, ROLE_ADD, ROLE_EDIT, ROLE_DEL),
                ),
                _crud_menu(
                    title="Departments", name="SysDept", path="/sys/dept", icon="apartment", sort=3,
                    codes=(DEPT_LIST, DEPT_ADD, DEPT_EDIT, DEPT_DEL),
                ),
                _crud_menu(
                    title="Menus", name="SysMenu", path="/sys/menu", icon="menu", sort=4,
                    codes=(MENU_LIST, MENU_ADD, MENU_EDIT, MENU_DEL),
                ),
                {
                    "title": "Settings",
                    "name": "SysSettings",
                    "type": Menu.Type.MENU,
                    "path": "/sys/settings",
                    "component": "sys/settings/index",
                    "perms": SETTINGS_EDIT,
                    "icon": "control",
                    "sort": 5,
                },
            ],
        },
        {
            "title": "Logs",
            "name": "Log",
            "type": Menu.Type.DIRECTORY,
            "path": "/log",
            "icon": "file-text",
            "sort": 2,
            "children": [
                {
                    "title": "Login logs",
                    "name": "LoginLog",
                    "type": Menu.Type.MENU,
                    "path": "/log/login",
                    "component": "log/login/index",
                    "perms": LOGIN_LOG_LIST,
                    "sort": 1,
                    "children": [_button("Delete login log", "LoginLogDel", LOGIN_LOG_DEL, 1)],
                },
                {
                    "title": "Operation logs",
                    "name": "OperationLog",
                    "type": Menu.Type.MENU,
                    "path": "/log/opera",
                    "component": "log/opera/index",
                    "perms": OPERATION_LOG_LIST,
                    "sort": 2,
                    "children": [_button("Delete operation log", "OperationLogDel", OPERATION_LOG_DEL, 1)],
                },
            ],
        },
        {
            "title": "Monitor",
            "name": "Monitor",
            "type": Menu.Type.DIRECTORY,
            "path": "/monitor",
            "icon": "dashboard",
            "sort": 3,
            "children": [
                {
                    "title": "Server",
                    "name": "MonitorServer",
                    "type": Menu.Type.MENU,
                    "path": "/monitor/server",
                    "component": "monitor/server/index",
                    "perms": MONITOR_SERVER,
                    "sort": 1,
                },
                {
                    "title": "Redis",
                    "name": "MonitorRedis",
                    "type": Menu.Type.MENU,
                    "path": "/monitor/redis",
                    "component": "monitor/redis/index",
                    "perms": MONITOR_REDIS,
                    "sort": 2,
                },
            ],
        },
    ]


def _codes(nodes: list[MenuNode]) -> list[str]:
    found: list[str] = []
    for node in nodes:
        if node.get("perms"):
            found.append(node["perms"])
        found.extend(_codes(node.get("children", [])))
    return found


#: Every console code; the ``admin`` role gets all of them.
ALL_CODES: frozenset[str] = frozenset(_codes(default_menu_tree()))
#: The plain ``user`` role gets none of the console's codes.
USER_ROLE_CODES: frozenset[str] = frozenset()
#: Role code → the permission codes ``bootstrap`` gives it.
DEFAULT_ROLE_CODES: dict[str, frozenset[str]] = {"admin": ALL_CODES, "user": USER_ROLE_CODES}


def menu_fields(node: MenuNode) -> dict[str, Any]:
    """The model fields of one node (without its children), for creating the :class:`Menu`."""
    return {key: value for key, value in node.items() if key != "children"}
