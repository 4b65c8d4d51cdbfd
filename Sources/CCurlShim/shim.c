#include "CCurlShim.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

CURLcode cw_curl_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode cw_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode cw_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode cw_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

CURLcode cw_curl_easy_setopt_data_callback(CURL *handle, CURLoption option, cw_curl_data_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

CURLcode cw_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

size_t cw_curl_write_pause(void) {
    return CURL_WRITEFUNC_PAUSE;
}

CURLcode cw_curl_easy_unpause(CURL *handle) {
    return curl_easy_pause(handle, CURLPAUSE_CONT);
}

CURLMcode cw_curl_multi_set_callbacks(CURLM *multi, cw_curl_socket_callback sockets, cw_curl_timer_callback timer, void *loop) {
    CURLMcode code = curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, sockets);
    if (code == CURLM_OK) code = curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, loop);
    if (code == CURLM_OK) code = curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer);
    if (code == CURLM_OK) code = curl_multi_setopt(multi, CURLMOPT_TIMERDATA, loop);
    return code;
}

int cw_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int cw_epoll_watch(int epoll, int socket, int what, int known) {
    if (what == CURL_POLL_REMOVE) {
        // The socket may be closed already, which removed it.
        return epoll_ctl(epoll, EPOLL_CTL_DEL, socket, NULL) == 0 || errno == EBADF || errno == ENOENT ? 0 : -1;
    }
    struct epoll_event event = {0};
    event.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    event.data.fd = socket;
    if (epoll_ctl(epoll, known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, socket, &event) == 0) return 0;
    // A socket closed without a REMOVE left epoll by itself; its number may come back.
    if (errno == ENOENT) return epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event);
    if (errno == EEXIST) return epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event);
    return -1;
}

int cw_epoll_wait(int epoll, int *sockets, int *masks, int capacity, int timeout_ms) {
    struct epoll_event events[64];
    int count = epoll_wait(epoll, events, capacity < 64 ? capacity : 64, timeout_ms);
    for (int i = 0; i < count; i++) {
        uint32_t ready = events[i].events;
        sockets[i] = events[i].data.fd;
        masks[i] = (ready & (EPOLLIN | EPOLLHUP) ? CURL_CSELECT_IN : 0) | (ready & EPOLLOUT ? CURL_CSELECT_OUT : 0)
            | (ready & EPOLLERR ? CURL_CSELECT_ERR : 0);
    }
    return count;
}

int cw_eventfd(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}
